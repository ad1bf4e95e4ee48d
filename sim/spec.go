package sim

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/cgbench/cgbench/datasets"
)

// CG kinds of CGSpec.Kind.
const (
	KindContent         = "content"
	KindPopularity      = "popularity"
	KindRetargeting     = "retargeting"
	KindHistoryInterest = "history_interest"
	KindLearned         = "learned" // built by the caller's factory
)

// kindParams lists the parameters each heuristic kind accepts besides k and
// lag; a learned CG's parameters are its factory's business.
var kindParams = map[string][]string{
	KindContent:         nil,
	KindPopularity:      {"window_days"},
	KindRetargeting:     {"half_life_days"},
	KindHistoryInterest: {"half_life_days", "top_categories"},
	KindLearned:         nil,
}

// DefaultK returns the default number of candidates of a CG kind: 200 for
// content, history_interest and learned CGs, 100 for popularity and
// retargeting; 0 for an unknown kind.
func DefaultK(kind string) int {
	switch kind {
	case KindContent, KindHistoryInterest, KindLearned:
		return 200
	case KindPopularity, KindRetargeting:
		return 100
	}
	return 0
}

// CGSpec is one CG of a mix as given on the command line.
type CGSpec struct {
	Name   string            // unique within a mix; the CG's name in every result
	Kind   string            // Kind*
	K      int               // candidates per request; 0 means DefaultK(Kind)
	Params map[string]string // parameters other than k, e.g. run, lag, window_days
}

// ParseCGSpec parses NAME or NAME=KIND[:key=val,key=val]. A bare NAME must be
// a kind (e.g. "content"); "k" sets K; "lag" (realtime, daily, weekly) gives
// the CG its own staleness; the heuristic kinds accept only their documented
// parameters (popularity: window_days; retargeting: half_life_days;
// history_interest: half_life_days, top_categories). Examples: content,
// pop=popularity:k=100, ctx=learned:run=runs/ctx,lag=daily.
func ParseCGSpec(s string) (CGSpec, error) {
	fail := func(format string, args ...any) (CGSpec, error) {
		return CGSpec{}, fmt.Errorf("parse cg spec %q: %s", s, fmt.Sprintf(format, args...))
	}
	name, rest, hasKind := strings.Cut(s, "=")
	if err := checkName(name); err != nil {
		return fail("%v", err)
	}
	spec := CGSpec{Name: name, Kind: name}
	if hasKind {
		kind, params, hasParams := strings.Cut(rest, ":")
		spec.Kind = kind
		if hasParams {
			if params == "" {
				return fail("empty parameter list after %q", kind+":")
			}
			spec.Params = map[string]string{}
			for _, kv := range strings.Split(params, ",") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" || v == "" {
					return fail("parameter %q is not key=value", kv)
				}
				if _, dup := spec.Params[k]; dup {
					return fail("parameter %q given twice", k)
				}
				spec.Params[k] = v
			}
		}
	}
	allowed, ok := kindParams[spec.Kind]
	if !ok {
		if !hasKind {
			return fail("unknown CG %q: want one of %s, or NAME=KIND[:key=val,...]", name, strings.Join(knownKinds(), ", "))
		}
		return fail("unknown CG kind %q: want one of %s", spec.Kind, strings.Join(knownKinds(), ", "))
	}
	if v, ok := spec.Params["k"]; ok {
		k, err := strconv.Atoi(v)
		if err != nil || k < 1 {
			return fail("k = %q, want a positive integer", v)
		}
		spec.K = k
		delete(spec.Params, "k")
	}
	if v, ok := spec.Params["lag"]; ok {
		if _, err := ParseStaleness(v); err != nil {
			return fail("lag: %v", err)
		}
	}
	if spec.Kind != KindLearned {
		for _, k := range slices.Sorted(maps.Keys(spec.Params)) {
			if k != "lag" && !slices.Contains(allowed, k) {
				return fail("kind %s has no parameter %q (accepts k, lag%s)", spec.Kind, k, prefixed(allowed))
			}
		}
		if _, err := heuristicParams(spec); err != nil {
			return fail("%v", err)
		}
	}
	if len(spec.Params) == 0 {
		spec.Params = nil
	}
	return spec, nil
}

func prefixed(xs []string) string {
	var b strings.Builder
	for _, x := range xs {
		b.WriteString(", " + x)
	}
	return b.String()
}

func knownKinds() []string { return slices.Sorted(maps.Keys(kindParams)) }

func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("empty CG name")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return fmt.Errorf("CG name %q: only letters, digits, '_', '-' and '.' are allowed", name)
		}
	}
	return nil
}

// String formats the spec as ParseCGSpec reads it, with K and the
// parameters in sorted order.
func (s CGSpec) String() string {
	var b strings.Builder
	b.WriteString(s.Name + "=" + s.Kind)
	sep := ":"
	if s.K > 0 {
		b.WriteString(sep + "k=" + strconv.Itoa(s.K))
		sep = ","
	}
	for _, k := range slices.Sorted(maps.Keys(s.Params)) {
		b.WriteString(sep + k + "=" + s.Params[k])
		sep = ","
	}
	return b.String()
}

// DefaultProductionMix is the production CG mix that writes the logged
// impressions: content (k=200; Related Pins is a contextual surface and
// serves mostly ads like the subject Pin), popularity (k=100),
// advertiser retargeting (k=100) and history interest (k=200).
func DefaultProductionMix() []CGSpec {
	return []CGSpec{
		{Name: "content", Kind: KindContent, K: 200},
		{Name: "popularity", Kind: KindPopularity, K: 100},
		{Name: "retargeting", Kind: KindRetargeting, K: 100},
		{Name: "history_interest", Kind: KindHistoryInterest, K: 200},
	}
}

type hParams struct {
	window   int
	halfLife float64
	topCats  int
}

func heuristicParams(s CGSpec) (hParams, error) {
	p := hParams{window: DefaultPopularityWindowDays, halfLife: DefaultHalfLifeDays, topCats: DefaultTopCategories}
	if v, ok := s.Params["window_days"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, fmt.Errorf("window_days = %q, want a positive integer", v)
		}
		p.window = n
	}
	if v, ok := s.Params["half_life_days"]; ok {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || !(x > 0) || x > 1e6 {
			return p, fmt.Errorf("half_life_days = %q, want a positive number", v)
		}
		p.halfLife = x
	}
	if v, ok := s.Params["top_categories"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 16 {
			return p, fmt.Errorf("top_categories = %q, want an integer in [1, 16]", v)
		}
		p.topCats = n
	}
	return p, nil
}

// BuildGenerators builds the CGs of a mix, in spec order. Heuristic kinds are
// built here over indexes shared between them; learned specs (with K set to
// its default when 0) go to the learned factory, which may be nil when the
// mix has none. Every generator is named after its spec's Name, records its
// spec (a Spec() string method) and, with a "lag" parameter, reads the user
// state under that staleness (so a factory must not apply lag itself). An
// unknown kind, a bad k, a duplicate name or a factory error is an error.
func BuildGenerators(w *datasets.World, specs []CGSpec, learned func(CGSpec) (Generator, error)) ([]Generator, error) {
	if w == nil {
		return nil, fmt.Errorf("build generators: nil world")
	}
	seen := map[string]bool{}
	var cat *catalog
	out := make([]Generator, 0, len(specs))
	for _, s := range specs {
		if err := checkName(s.Name); err != nil {
			return nil, fmt.Errorf("build cg %q: %w", s.Name, err)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("build cg %q: duplicate CG name in the mix", s.Name)
		}
		seen[s.Name] = true
		if _, ok := kindParams[s.Kind]; !ok {
			return nil, fmt.Errorf("build cg %q: unknown kind %q: want one of %s", s.Name, s.Kind, strings.Join(knownKinds(), ", "))
		}
		if s.K < 0 {
			return nil, fmt.Errorf("build cg %q: k = %d, want positive", s.Name, s.K)
		}
		if s.K == 0 {
			s.K = DefaultK(s.Kind)
		}
		var g Generator
		if s.Kind == KindLearned {
			if learned == nil {
				return nil, fmt.Errorf("build cg %q: kind learned needs a model factory", s.Name)
			}
			var err error
			if g, err = learned(s); err != nil {
				return nil, fmt.Errorf("build cg %q: %w", s.Name, err)
			}
			if g == nil {
				return nil, fmt.Errorf("build cg %q: factory returned no generator", s.Name)
			}
		} else {
			p, err := heuristicParams(s)
			if err != nil {
				return nil, fmt.Errorf("build cg %q: %w", s.Name, err)
			}
			if cat == nil {
				cat = newCatalog(w)
			}
			switch s.Kind {
			case KindContent:
				g = newContentCG(cat, s.K)
			case KindPopularity:
				g = newPopularityCG(cat, s.K, p.window)
			case KindRetargeting:
				g = newRetargetingCG(cat, s.K, p.halfLife)
			case KindHistoryInterest:
				g = newHistoryInterestCG(cat, s.K, p.halfLife, p.topCats)
			}
		}
		if v, ok := s.Params["lag"]; ok {
			lag, err := ParseStaleness(v)
			if err != nil {
				return nil, fmt.Errorf("build cg %q: %w", s.Name, err)
			}
			g = WithStaleness(g, lag, w)
		}
		out = append(out, &namedGenerator{Generator: g, name: s.Name, spec: s.String()})
	}
	return out, nil
}

// namedGenerator gives a built generator its spec's name and records the
// spec.
type namedGenerator struct {
	Generator
	name, spec string
}

func (g *namedGenerator) Name() string { return g.name }
func (g *namedGenerator) Spec() string { return g.spec }
