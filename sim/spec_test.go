package sim

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cgbench/cgbench/datasets"
)

func TestParseCGSpec(t *testing.T) {
	cases := []struct {
		in      string
		want    CGSpec
		wantErr string
	}{
		{in: "content", want: CGSpec{Name: "content", Kind: "content"}},
		{in: "history_interest", want: CGSpec{Name: "history_interest", Kind: "history_interest"}},
		{in: "pop=popularity:k=100", want: CGSpec{Name: "pop", Kind: "popularity", K: 100}},
		{in: "pop=popularity:k=50,window_days=7", want: CGSpec{Name: "pop", Kind: "popularity", K: 50, Params: map[string]string{"window_days": "7"}}},
		{in: "ctx=learned:run=runs/ctx,lag=daily", want: CGSpec{Name: "ctx", Kind: "learned", Params: map[string]string{"run": "runs/ctx", "lag": "daily"}}},
		{in: "rt=retargeting:lag=weekly", want: CGSpec{Name: "rt", Kind: "retargeting", Params: map[string]string{"lag": "weekly"}}},
		{in: "bogus", wantErr: "unknown CG"},
		{in: "x=bogus", wantErr: "unknown CG kind"},
		{in: "", wantErr: "empty CG name"},
		{in: "=content", wantErr: "empty CG name"},
		{in: "a b=content", wantErr: "only letters"},
		{in: "x=content:", wantErr: "empty parameter list"},
		{in: "x=content:k", wantErr: "not key=value"},
		{in: "x=content:k=", wantErr: "not key=value"},
		{in: "x=content:k=0", wantErr: "positive integer"},
		{in: "x=content:k=-3", wantErr: "positive integer"},
		{in: "x=content:k=ten", wantErr: "positive integer"},
		{in: "x=content:k=1,k=2", wantErr: "given twice"},
		{in: "x=content:depth=2", wantErr: "no parameter"},
		{in: "x=popularity:window_days=0", wantErr: "window_days"},
		{in: "x=learned:lag=hourly", wantErr: "staleness"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseCGSpec(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseCGSpec(%q) error = %v, want one containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCGSpec(%q) error: %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseCGSpec(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			again, err := ParseCGSpec(got.String())
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("ParseCGSpec(%q.String() = %q) = %+v, %v; want the same spec", tc.in, got.String(), again, err)
			}
		})
	}
}

func TestBuildGenerators(t *testing.T) {
	fx := newFixture(t, 1, 200, 50, 10)
	factory := func(s CGSpec) (Generator, error) {
		if s.Params["run"] == "missing" {
			return nil, errors.New("no checkpoint")
		}
		return &fixedCG{name: "whatever", list: cands(1, 2)}, nil
	}
	t.Run("production mix", func(t *testing.T) {
		gs, err := BuildGenerators(fx.w, DefaultProductionMix(), nil)
		if err != nil {
			t.Fatalf("BuildGenerators error: %v", err)
		}
		for i, g := range gs {
			want := DefaultProductionMix()[i]
			if g.Name() != want.Name || generatorSpec(g) != want.String() {
				t.Errorf("generator %d = %s (%s), want %s (%s)", i, g.Name(), generatorSpec(g), want.Name, want.String())
			}
		}
	})
	t.Run("learned with default k and lag", func(t *testing.T) {
		var got CGSpec
		gs, err := BuildGenerators(fx.w, []CGSpec{{Name: "ctx", Kind: KindLearned, Params: map[string]string{"lag": "daily"}}},
			func(s CGSpec) (Generator, error) { got = s; return factory(s) })
		if err != nil {
			t.Fatalf("BuildGenerators error: %v", err)
		}
		if got.K != DefaultK(KindLearned) {
			t.Errorf("factory got K = %d, want %d", got.K, DefaultK(KindLearned))
		}
		if gs[0].Name() != "ctx" || !strings.Contains(generatorSpec(gs[0]), "lag=daily") {
			t.Errorf("generator = %s (%s), want ctx with lag=daily", gs[0].Name(), generatorSpec(gs[0]))
		}
	})
	bad := []struct {
		name    string
		specs   []CGSpec
		wantErr string
	}{
		{"duplicate name", []CGSpec{{Name: "a", Kind: KindContent}, {Name: "a", Kind: KindPopularity}}, "duplicate"},
		{"unknown kind", []CGSpec{{Name: "a", Kind: "bm25"}}, "unknown kind"},
		{"negative k", []CGSpec{{Name: "a", Kind: KindContent, K: -1}}, "k = -1"},
		{"learned without factory", []CGSpec{{Name: "a", Kind: KindLearned}}, "factory"},
		{"factory error", []CGSpec{{Name: "m", Kind: KindLearned, Params: map[string]string{"run": "missing"}}}, "no checkpoint"},
		{"bad param", []CGSpec{{Name: "a", Kind: KindRetargeting, Params: map[string]string{"half_life_days": "-2"}}}, "half_life_days"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			f := factory
			if tc.name == "learned without factory" {
				f = nil
			}
			_, err := BuildGenerators(fx.w, tc.specs, f)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("BuildGenerators() error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestFunnelConfig(t *testing.T) {
	if err := DefaultFunnelConfig().Validate(); err != nil {
		t.Fatalf("DefaultFunnelConfig().Validate() = %v", err)
	}
	invalid := []struct {
		name string
		edit func(*FunnelConfig)
	}{
		{"zero slots", func(c *FunnelConfig) { c.Slots = 0; c.PositionEffect = nil }},
		{"rank below slots", func(c *FunnelConfig) { c.RankSize = 3 }},
		{"pre-rank below rank", func(c *FunnelConfig) { c.PreRankSize = 10 }},
		{"negative noise", func(c *FunnelConfig) { c.CTRNoise = -0.1 }},
		{"zero calibration", func(c *FunnelConfig) { c.CVRCalibration = 0 }},
		{"threshold above 1", func(c *FunnelConfig) { c.RelevanceThreshold = 1.5 }},
		{"NaN reserve", func(c *FunnelConfig) { c.ReservePrice = nan() }},
		{"short position effect", func(c *FunnelConfig) { c.PositionEffect = []float64{1, 0.5} }},
		{"position effect above 1", func(c *FunnelConfig) { c.PositionEffect[2] = 1.2 }},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultFunnelConfig()
			tc.edit(&c)
			if err := c.Validate(); err == nil {
				t.Fatalf("Validate() of %+v = nil, want an error", c)
			}
		})
	}
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("override", func(t *testing.T) {
		c, err := LoadFunnelConfig(write("ok.yaml", "slots: 2\nposition_effect: [1, 0.6]\nreserve_price: 0.01\n"), DefaultFunnelConfig())
		if err != nil {
			t.Fatalf("LoadFunnelConfig error: %v", err)
		}
		want := DefaultFunnelConfig()
		want.Slots, want.PositionEffect, want.ReservePrice = 2, []float64{1, 0.6}, 0.01
		if !reflect.DeepEqual(c, want) {
			t.Errorf("LoadFunnelConfig = %+v, want %+v", c, want)
		}
	})
	t.Run("empty file", func(t *testing.T) {
		c, err := LoadFunnelConfig(write("empty.yaml", ""), DefaultFunnelConfig())
		if err != nil || !reflect.DeepEqual(c, DefaultFunnelConfig()) {
			t.Errorf("LoadFunnelConfig(empty) = %+v, %v; want the base", c, err)
		}
	})
	for name, text := range map[string]string{
		"unknown field": "slotz: 3\n",
		"malformed":     "slots: [\n",
		"invalid value": "slots: 9\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := LoadFunnelConfig(write(name+".yaml", text), DefaultFunnelConfig()); err == nil {
				t.Fatalf("LoadFunnelConfig(%q) = nil error, want one", text)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		if _, err := LoadFunnelConfig(filepath.Join(dir, "none.yaml"), DefaultFunnelConfig()); err == nil {
			t.Fatal("LoadFunnelConfig(missing) = nil error, want one")
		}
	})
}

func TestStaleness(t *testing.T) {
	w := &datasets.World{Manifest: datasets.Manifest{StartTime: fxStart, EvalStartDay: 14, EvalDays: 21}}
	at := func(day int, sec int64) int64 { return fxStart + int64(day)*datasets.SecondsPerDay + sec }
	cases := []struct {
		s    string
		ts   int64
		want int64
	}{
		{"realtime", at(15, 3600), at(15, 3600)},
		{"daily", at(15, 3600), at(15, 0)},
		{"daily", at(15, 0), at(15, 0)},
		{"weekly", at(14, 10), at(14, 0)},
		{"weekly", at(20, 86399), at(14, 0)},
		{"weekly", at(21, 5), at(21, 0)},
		{"weekly", at(30, 5), at(28, 0)},
		{"weekly", at(10, 5), at(10, 0)}, // before the eval window: its own day
	}
	for _, tc := range cases {
		t.Run(tc.s, func(t *testing.T) {
			s, err := ParseStaleness(tc.s)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Cutoff(w, &datasets.Request{Timestamp: tc.ts}); got != tc.want {
				t.Errorf("%s.Cutoff(day %d) = %d, want %d", tc.s, w.Day(tc.ts), got, tc.want)
			}
		})
	}
	if _, err := ParseStaleness("hourly"); err == nil {
		t.Error(`ParseStaleness("hourly") = nil error, want one`)
	}
}
