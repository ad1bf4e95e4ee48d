package eval

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gateFile builds a metrics file with one gated figure per (arm, CG).
func gateFile(figs ...Figure) *File {
	defs := Definitions()
	return &File{
		SchemaVersion: FileSchemaVersion,
		Provenance: Provenance{DataHash: "d1", DefinitionHash: DefinitionHash(defs), ConfidenceLvl: 0.95,
			Seeds: map[string]uint64{"bootstrap": 1}},
		Definitions: defs,
		Figures:     figs,
	}
}

func fig(cg, metric string, v, lo, hi float64) Figure {
	return Figure{Arm: "ctx", CG: cg, Metric: metric, Estimate: Estimate{Value: v, Lo: lo, Hi: hi, N: 500, Users: 100}}
}

func TestGate(t *testing.T) {
	const m = "recall@100/counterfactual"
	base := gateFile(fig("c1", m, 0.50, 0.47, 0.53), fig("c2", m, 0.30, 0.28, 0.32))
	cases := []struct {
		name      string
		current   *File
		opts      GateOptions
		regressed []bool
	}{
		{"unchanged", gateFile(fig("c1", m, 0.50, 0.47, 0.53), fig("c2", m, 0.30, 0.28, 0.32)), GateOptions{}, []bool{false, false}},
		{"improved", gateFile(fig("c1", m, 0.60, 0.57, 0.63), fig("c2", m, 0.35, 0.33, 0.37)), GateOptions{}, []bool{false, false}},
		// c1 falls to 0.40 [0.37, 0.43]: hi 0.43 < 0.50 and 0.40 < lo 0.47.
		{"clear regression", gateFile(fig("c1", m, 0.40, 0.37, 0.43), fig("c2", m, 0.30, 0.28, 0.32)), GateOptions{}, []bool{true, false}},
		// Same drop, wide interval: hi 0.52 >= 0.50, within noise.
		{"drop within noise", gateFile(fig("c1", m, 0.40, 0.28, 0.52), fig("c2", m, 0.30, 0.28, 0.32)), GateOptions{}, []bool{false, false}},
		// Tolerance 0.12: floor 0.38, hi 0.43 is above it.
		{"drop within absolute tolerance", gateFile(fig("c1", m, 0.40, 0.37, 0.43), fig("c2", m, 0.30, 0.28, 0.32)), GateOptions{MaxDrop: 0.12}, []bool{false, false}},
		// Relative 5%: tol 0.025, floor 0.475 > hi 0.43; 0.40 < 0.47 - 0.025.
		{"beyond relative tolerance", gateFile(fig("c1", m, 0.40, 0.37, 0.43), fig("c2", m, 0.30, 0.28, 0.32)), GateOptions{MaxDrop: 0.05, Relative: true}, []bool{true, false}},
		// Current value below the floor but inside baseline's interval less tol.
		{"value inside baseline interval", gateFile(fig("c1", m, 0.475, 0.45, 0.49), fig("c2", m, 0.30, 0.28, 0.32)), GateOptions{}, []bool{false, false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Gate(base, tc.current, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Rows) != len(tc.regressed) {
				t.Fatalf("Gate compared %d rows, want %d", len(res.Rows), len(tc.regressed))
			}
			any := false
			for i, r := range res.Rows {
				if r.Regressed != tc.regressed[i] {
					t.Errorf("row %s %s: Regressed = %v, want %v (%s)", r.CG, r.Metric, r.Regressed, tc.regressed[i], r.Reason)
				}
				any = any || tc.regressed[i]
			}
			if res.Regressed != any {
				t.Errorf("Gate.Regressed = %v, want %v", res.Regressed, any)
			}
		})
	}
}

func TestGateRefuses(t *testing.T) {
	const m = "recall@100/counterfactual"
	base := gateFile(fig("c1", m, 0.5, 0.4, 0.6))
	mk := func(f func(*File)) *File {
		c := gateFile(fig("c1", m, 0.5, 0.4, 0.6))
		f(c)
		return c
	}
	cases := []struct {
		name    string
		current *File
		opts    GateOptions
		want    string
	}{
		{"data hash", mk(func(f *File) { f.Provenance.DataHash = "d2" }), GateOptions{}, "data hashes differ"},
		{"definitions", mk(func(f *File) { f.Provenance.DefinitionHash = "other" }), GateOptions{}, "metric definitions differ"},
		{"schema", mk(func(f *File) { f.SchemaVersion = 2 }), GateOptions{}, "schema versions differ"},
		{"confidence", mk(func(f *File) { f.Provenance.ConfidenceLvl = 0.9 }), GateOptions{}, "confidence levels differ"},
		{"missing figure", mk(func(f *File) { f.Figures[0].CG = "c9" }), GateOptions{}, "current has no figure"},
		{"unknown metric", mk(func(*File) {}), GateOptions{Metrics: []string{"recall@7/logged"}}, "baseline has no figure"},
		{"default metrics present", mk(func(*File) {}), GateOptions{}, ""},
		{"negative drop", mk(func(*File) {}), GateOptions{MaxDrop: -1}, "max drop"},
		{"undefined", mk(func(f *File) { f.Figures[0].Warnings = []string{"undefined: zero denominator"} }), GateOptions{}, "undefined"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Gate(base, tc.current, tc.opts)
			if tc.want == "" {
				// The default metrics include recall@100/counterfactual: no error.
				if err != nil {
					t.Errorf("Gate error = %v, want none", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Gate error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := Gate(gateFile(fig("c1", "roas", 1, 1, 1)), gateFile(fig("c1", "roas", 1, 1, 1)), GateOptions{}); err == nil {
		t.Errorf("Gate without any default metric: no error")
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := gateFile(fig("c1", "roas", 1, 1, 1))
	goodPath := filepath.Join(dir, "good.json")
	if err := WriteFile(goodPath, good); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "none.json"), "no such file"},
		{"not json", write("bad.json", "{oops"), "not a metrics JSON"},
		{"no version", write("nov.json", `{"figures": []}`), "no schema_version"},
		{"other version", write("v2.json", `{"schema_version": 2}`), "schema version 2"},
		{"unknown field", write("uf.json", `{"schema_version": 1, "bogus": 3}`), "bogus"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadFile(tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ReadFile error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	f, err := ReadFile(goodPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Lookup("ctx", "c1", "roas", "", ""); !ok {
		t.Errorf("round trip lost the figure")
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, f); err != nil {
		t.Fatal(err)
	}
	want := "arm,cg,metric,segment,segment_value,value,lo,hi,n,users,oracle,warnings\nctx,c1,roas,,,1,1,1,500,100,false,\n"
	if buf.String() != want {
		t.Errorf("WriteCSV =\n%s\nwant\n%s", buf.String(), want)
	}
}
