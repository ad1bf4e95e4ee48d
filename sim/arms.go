package sim

import (
	"fmt"
	"strings"
)

// ArmSpec names an arm and its CGs, before the CGs are built.
type ArmSpec struct {
	Name string
	CGs  []string // names of CGs in the pool
}

// ParseArms resolves `cgbench replay`'s --cg and --arm flags into the CG
// pool and the arms. cgFlags are NAME[=KIND[:key=val,...]] (see
// ParseCGSpec); armFlags are NAME=CG+CG+..., where "production" stands for
// the production mix's CGs (added to the pool when absent). With neither,
// the result is the production mix as arm "production"; with --cg only, one
// arm "replay" holds every CG.
func ParseArms(cgFlags, armFlags []string) ([]CGSpec, []ArmSpec, error) {
	prod := DefaultProductionMix()
	var pool []CGSpec
	known := map[string]bool{}
	add := func(s CGSpec) {
		if !known[s.Name] {
			known[s.Name] = true
			pool = append(pool, s)
		}
	}
	for _, c := range cgFlags {
		s, err := ParseCGSpec(c)
		if err != nil {
			return nil, nil, fmt.Errorf("--cg %q: %w", c, err)
		}
		if known[s.Name] {
			return nil, nil, fmt.Errorf("--cg %q: CG name %q given twice", c, s.Name)
		}
		add(s)
	}
	if len(cgFlags) == 0 && len(armFlags) == 0 {
		for _, s := range prod {
			add(s)
		}
		return pool, []ArmSpec{{Name: "production", CGs: specNames(prod)}}, nil
	}
	if len(armFlags) == 0 {
		return pool, []ArmSpec{{Name: "replay", CGs: specNames(pool)}}, nil
	}
	var arms []ArmSpec
	seenArm := map[string]bool{}
	for _, a := range armFlags {
		name, list, ok := strings.Cut(a, "=")
		if !ok || name == "" || list == "" {
			return nil, nil, fmt.Errorf("--arm %q: want NAME=CG+CG+...", a)
		}
		if seenArm[name] {
			return nil, nil, fmt.Errorf("--arm %q: arm name %q given twice", a, name)
		}
		seenArm[name] = true
		arm := ArmSpec{Name: name}
		for _, n := range strings.Split(list, "+") {
			if n == "production" {
				for _, s := range prod {
					if !known[s.Name] {
						add(s)
					}
					arm.CGs = append(arm.CGs, s.Name)
				}
				continue
			}
			if !known[n] {
				return nil, nil, fmt.Errorf("--arm %q: no --cg named %q", a, n)
			}
			arm.CGs = append(arm.CGs, n)
		}
		arms = append(arms, arm)
	}
	return pool, arms, nil
}

// BuildArms returns the arms of specs with their CGs taken by name from
// gens (built from the pool ParseArms returned).
func BuildArms(gens []Generator, specs []ArmSpec) ([]Arm, error) {
	byName := map[string]Generator{}
	for _, g := range gens {
		byName[g.Name()] = g
	}
	var arms []Arm
	for _, a := range specs {
		arm := Arm{Name: a.Name}
		for _, n := range a.CGs {
			g, ok := byName[n]
			if !ok {
				return nil, fmt.Errorf("arm %q: no CG named %q", a.Name, n)
			}
			arm.CGs = append(arm.CGs, g)
		}
		arms = append(arms, arm)
	}
	return arms, nil
}

func specNames(specs []CGSpec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.Name
	}
	return out
}
