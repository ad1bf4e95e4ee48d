package datasets

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestPresets(t *testing.T) {
	for _, name := range PresetNames {
		t.Run(name, func(t *testing.T) {
			c, err := Preset(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("preset %s does not validate: %v", name, err)
			}
		})
	}
	if _, err := Preset("huge"); err == nil || !strings.Contains(err.Error(), "huge") {
		t.Errorf("Preset(huge) error = %v, want one naming the preset", err)
	}
	l := LargeWorldConfig()
	if l.Sizes.Users != 1000000 || l.Sizes.Requests != 10000000 || l.Sizes.AdPins != 100000 {
		t.Errorf("large preset sizes = %+v, want 1M users, 100k ad Pins, 10M requests", l.Sizes)
	}
}

// TestExampleYAMLIsComplete checks that testdata/world.yaml sets every knob
// to its default: decoded over a zero config it must give DefaultWorldConfig.
func TestExampleYAMLIsComplete(t *testing.T) {
	got, err := LoadWorldConfig(filepath.Join("testdata", "world.yaml"), WorldConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if want := DefaultWorldConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("testdata/world.yaml = %+v\nwant DefaultWorldConfig %+v", got, want)
	}
}

func TestLoadWorldConfig(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		yaml    string
		check   func(c WorldConfig) bool
		wantErr []string
	}{
		{
			name: "override",
			yaml: "sizes:\n  users: 500\nrequests:\n  intent_mix:\n    trend: 0.5\n",
			check: func(c WorldConfig) bool {
				return c.Sizes.Users == 500 && c.Requests.IntentMix.Trend == 0.5 && c.Sizes.AdPins == 10000
			},
		},
		{
			name: "list replaced whole",
			yaml: "users:\n  countries:\n    - {code: FR, weight: 1}\n",
			check: func(c WorldConfig) bool {
				return len(c.Users.Countries) == 1 && c.Users.Countries[0].Code == "FR"
			},
		},
		{
			name:  "empty file",
			yaml:  "",
			check: func(c WorldConfig) bool { return reflect.DeepEqual(c, DefaultWorldConfig()) },
		},
		{name: "unknown key", yaml: "sizes:\n  userz: 5\n", wantErr: []string{"unknown key userz", "bad.yaml", "line 2"}},
		{name: "unknown section", yaml: "funnel: {}\n", wantErr: []string{"unknown key funnel"}},
		{name: "bad range", yaml: "history:\n  length_sigma: -1\n", wantErr: []string{"history.length_sigma", "bad.yaml"}},
		{name: "bad type", yaml: "sizes:\n  users: many\n", wantErr: []string{"bad.yaml", "many"}},
		{name: "wrong mix length", yaml: "pins:\n  categories_per_pin: [1, 1]\n", wantErr: []string{"pins.categories_per_pin", "3 weights"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "bad.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			base := DefaultWorldConfig()
			c, err := LoadWorldConfig(path, base)
			if !reflect.DeepEqual(base, DefaultWorldConfig()) {
				t.Fatal("LoadWorldConfig changed its base")
			}
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("LoadWorldConfig(%q) succeeded, want an error", tc.yaml)
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("LoadWorldConfig(%q) error = %q, want it to contain %q", tc.yaml, err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("LoadWorldConfig(%q) = %+v, not the expected override", tc.yaml, c)
			}
		})
	}
	if _, err := LoadWorldConfig(filepath.Join(dir, "none.yaml"), DefaultWorldConfig()); err == nil {
		t.Error("LoadWorldConfig(missing file) succeeded")
	}
}

func TestWorldConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		key    string
		modify func(c *WorldConfig)
	}{
		{"sizes.users", func(c *WorldConfig) { c.Sizes.Users = 0 }},
		{"sizes.requests", func(c *WorldConfig) { c.Sizes.Requests = -1 }},
		{"taxonomy.latent_dim", func(c *WorldConfig) { c.Taxonomy.LatentDim = 1 }},
		{"taxonomy.within_group_spread", func(c *WorldConfig) { c.Taxonomy.WithinGroupSpread = math.NaN() }},
		{"pins.categories_per_pin", func(c *WorldConfig) { c.Pins.CategoriesPerPin = []float64{0, 0, 0} }},
		{"pins.categories_per_pin[1]", func(c *WorldConfig) { c.Pins.CategoriesPerPin = []float64{1, -1, 0} }},
		{"pins.label_noise", func(c *WorldConfig) { c.Pins.LabelNoise = 1.5 }},
		{"pins.quality_mean", func(c *WorldConfig) { c.Pins.QualityMean = 1 }},
		{"pins.bid_median", func(c *WorldConfig) { c.Pins.BidMedian = 0 }},
		{"users.age_mix", func(c *WorldConfig) { c.Users.AgeMix = []float64{1} }},
		{"users.countries[0].code", func(c *WorldConfig) { c.Users.Countries[0].Code = "usa" }},
		{"users.countries[1].code", func(c *WorldConfig) { c.Users.Countries[1].Code = "US" }},
		{"users.countries", func(c *WorldConfig) { c.Users.Countries = nil }},
		{"users.anchors_mean", func(c *WorldConfig) { c.Users.AnchorsMean = 10 }},
		{"history.length_max", func(c *WorldConfig) { c.History.LengthMax = 0 }},
		{"history.activity_correlation", func(c *WorldConfig) { c.History.ActivityCorrelation = 2 }},
		{"history.event_types", func(c *WorldConfig) { c.History.EventTypes = nil }},
		{"requests.eval_days", func(c *WorldConfig) { c.Requests.EvalDays = 0 }},
		{"requests.intent_mix", func(c *WorldConfig) { c.Requests.IntentMix = IntentMix{} }},
		{"requests.subject_in_group", func(c *WorldConfig) { c.Requests.SubjectInCategory, c.Requests.SubjectInGroup = 0.7, 0.5 }},
		{"requests.logged_categories", func(c *WorldConfig) { c.Requests.LoggedCategories = 4 }},
		{"requests.trends_per_day", func(c *WorldConfig) { c.Requests.TrendsPerDay = 100000 }},
		{"requests.diurnal_amplitude", func(c *WorldConfig) { c.Requests.DiurnalAmplitude = 1 }},
		{"response.click_bias", func(c *WorldConfig) { c.Response.ClickBias = math.Inf(-1) }},
	} {
		t.Run(tc.key, func(t *testing.T) {
			c := DefaultWorldConfig()
			tc.modify(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.key+":") {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tc.key)
			}
		})
	}
}
