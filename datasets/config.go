package datasets

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// WorldConfig holds every knob of the synthetic world generator. No knob is
// derived from a model's output. DefaultWorldConfig documents the defaults;
// testdata/world.yaml lists every knob with its default. Probability mixes
// (lists of weights) are normalised by the generator, so they need not sum
// to 1.
type WorldConfig struct {
	Sizes    SizesConfig    `yaml:"sizes" json:"sizes"`
	Taxonomy TaxonomyConfig `yaml:"taxonomy" json:"taxonomy"`
	Pins     PinsConfig     `yaml:"pins" json:"pins"`
	Users    UsersConfig    `yaml:"users" json:"users"`
	History  HistoryConfig  `yaml:"history" json:"history"`
	Requests RequestsConfig `yaml:"requests" json:"requests"`
	Response ResponseConfig `yaml:"response" json:"response"`
}

// SizesConfig sets the number of entities of each table.
type SizesConfig struct {
	Users       int `yaml:"users" json:"users"`               // rows of users.parquet
	AdPins      int `yaml:"ad_pins" json:"ad_pins"`           // rows of ad_pins.parquet
	OrganicPins int `yaml:"organic_pins" json:"organic_pins"` // rows of organic_pins.parquet
	Requests    int `yaml:"requests" json:"requests"`         // rows of requests.parquet
	Advertisers int `yaml:"advertisers" json:"advertisers"`   // distinct advertiser ids
}

// TaxonomyConfig shapes the interest taxonomy.
type TaxonomyConfig struct {
	Groups             int     `yaml:"groups" json:"groups"`                             // top-level groups
	CategoriesPerGroup int     `yaml:"categories_per_group" json:"categories_per_group"` // categories in each group
	LatentDim          int     `yaml:"latent_dim" json:"latent_dim"`                     // length of every latent vector
	WithinGroupSpread  float64 `yaml:"within_group_spread" json:"within_group_spread"`   // s: categories of a group have cosine ~1/(1+s^2)
	CategorySkew       float64 `yaml:"category_skew" json:"category_skew"`               // lognormal sigma of the category prior weights
}

// PinsConfig shapes ad and organic Pins.
type PinsConfig struct {
	CategoriesPerPin   []float64 `yaml:"categories_per_pin" json:"categories_per_pin"`     // weights of 1, 2 and 3 categories
	SameGroup          float64   `yaml:"same_group" json:"same_group"`                     // P(a secondary category is from the primary's group)
	MinTotalConfidence float64   `yaml:"min_total_confidence" json:"min_total_confidence"` // a Pin's confidences sum to U(min, 1)
	LabelNoise         float64   `yaml:"label_noise" json:"label_noise"`                   // P(a listed category is replaced by a random one)
	LatentNoise        float64   `yaml:"latent_noise" json:"latent_noise"`                 // noise of an ad's latent around its categories
	PopularitySigma    float64   `yaml:"popularity_sigma" json:"popularity_sigma"`         // lognormal sigma of Pin popularity (skew)
	BidMedian          float64   `yaml:"bid_median" json:"bid_median"`                     // USD per click
	BidSigma           float64   `yaml:"bid_sigma" json:"bid_sigma"`                       // lognormal sigma of bids
	QualityMean        float64   `yaml:"quality_mean" json:"quality_mean"`                 // median creative quality, (0, 1)
	QualitySigma       float64   `yaml:"quality_sigma" json:"quality_sigma"`               // spread of quality on the logit scale
	ValueMedian        float64   `yaml:"value_median" json:"value_median"`                 // USD per conversion
	ValueSigma         float64   `yaml:"value_sigma" json:"value_sigma"`                   // lognormal sigma of conversion values
}

// CountryWeight is one country of the user country mix.
type CountryWeight struct {
	Code   string  `yaml:"code" json:"code"`     // ISO 3166-1 alpha-2, upper case
	Weight float64 `yaml:"weight" json:"weight"` // relative share, > 0
}

// UsersConfig shapes users and their long-term interests.
type UsersConfig struct {
	AgeMix              []float64       `yaml:"age_mix" json:"age_mix"`                           // NumAgeBuckets weights
	GenderMix           []float64       `yaml:"gender_mix" json:"gender_mix"`                     // NumGenders weights: unknown, female, male
	Countries           []CountryWeight `yaml:"countries" json:"countries"`                       // country mix
	DemographicStrength float64         `yaml:"demographic_strength" json:"demographic_strength"` // weight of demographics in the group logits
	AnchorsMean         float64         `yaml:"anchors_mean" json:"anchors_mean"`                 // mean interest anchors: 1 + Poisson(mean - 1)
	MaxAnchors          int             `yaml:"max_anchors" json:"max_anchors"`                   // cap on interest anchors
	ActivitySigma       float64         `yaml:"activity_sigma" json:"activity_sigma"`             // lognormal sigma of the request rate
}

// HistoryConfig shapes the offsite conversion histories.
type HistoryConfig struct {
	Days                int       `yaml:"days" json:"days"`                                 // days of history before the evaluation window
	LengthMedian        float64   `yaml:"length_median" json:"length_median"`               // median events per user in the history window
	LengthSigma         float64   `yaml:"length_sigma" json:"length_sigma"`                 // lognormal sigma of the history length
	LengthMin           int       `yaml:"length_min" json:"length_min"`                     // fewest history events per user
	LengthMax           int       `yaml:"length_max" json:"length_max"`                     // most history events per user
	ActivityCorrelation float64   `yaml:"activity_correlation" json:"activity_correlation"` // correlation of log history length and log request rate
	DriftSigmaPerDay    float64   `yaml:"drift_sigma_per_day" json:"drift_sigma_per_day"`   // daily random-walk step of anchor log-weights
	AnchorSwapPerDay    float64   `yaml:"anchor_swap_per_day" json:"anchor_swap_per_day"`   // daily P(the weakest anchor is replaced)
	EventNoise          float64   `yaml:"event_noise" json:"event_noise"`                   // P(an event ignores the interest)
	RepeatProb          float64   `yaml:"repeat_prob" json:"repeat_prob"`                   // P(an event repeats the ad of an earlier one)
	EventTypes          []float64 `yaml:"event_types" json:"event_types"`                   // NumEventTypes weights: checkout, signup, add to cart
	EvalRate            float64   `yaml:"eval_rate" json:"eval_rate"`                       // offsite rate in the eval window relative to the history rate
}

// IntentMix weighs the kinds of session intent.
type IntentMix struct {
	LongTerm    float64 `yaml:"long_term" json:"long_term"`
	Exploration float64 `yaml:"exploration" json:"exploration"`
	Trend       float64 `yaml:"trend" json:"trend"`
}

// RequestsConfig shapes the Related Pins request log.
type RequestsConfig struct {
	EvalDays          int       `yaml:"eval_days" json:"eval_days"`                     // days of the evaluation window
	SessionLengthMean float64   `yaml:"session_length_mean" json:"session_length_mean"` // mean requests per session (geometric)
	SessionGapSeconds float64   `yaml:"session_gap_seconds" json:"session_gap_seconds"` // mean seconds between requests of a session
	IntentMix         IntentMix `yaml:"intent_mix" json:"intent_mix"`                   // session-intent kinds
	NeighborProb      float64   `yaml:"neighbor_prob" json:"neighbor_prob"`             // P(a long-term intent moves to a sibling category)
	TrendsPerDay      int       `yaml:"trends_per_day" json:"trends_per_day"`           // trending categories per day
	TrendSkew         float64   `yaml:"trend_skew" json:"trend_skew"`                   // Zipf exponent over a day's trends
	IntentSpread      float64   `yaml:"intent_spread" json:"intent_spread"`             // noise of a session intent around its category
	SubjectInCategory float64   `yaml:"subject_in_category" json:"subject_in_category"` // P(the subject Pin is of the intent's category)
	SubjectInGroup    float64   `yaml:"subject_in_group" json:"subject_in_group"`       // P(it is of a sibling category instead)
	LoggedCategories  int       `yaml:"logged_categories" json:"logged_categories"`     // top subject categories the log keeps, 1..3
	ContextDrop       float64   `yaml:"context_drop" json:"context_drop"`               // P(the log carries no subject categories)
	DiurnalAmplitude  float64   `yaml:"diurnal_amplitude" json:"diurnal_amplitude"`     // request rate 1 + a*cos(2pi(h-20)/24)
}

// DefaultCountries is the default country mix, the United States first.
func DefaultCountries() []CountryWeight {
	return []CountryWeight{
		{"US", 0.41}, {"GB", 0.06}, {"CA", 0.05}, {"DE", 0.05}, {"FR", 0.05},
		{"BR", 0.05}, {"MX", 0.04}, {"JP", 0.03}, {"AU", 0.03}, {"IT", 0.03},
		{"ES", 0.03}, {"IN", 0.03}, {"NL", 0.02}, {"SE", 0.02}, {"PL", 0.02},
		{"AR", 0.02}, {"CO", 0.02}, {"KR", 0.02}, {"TR", 0.02}, {"ZA", 0.02},
	}
}

// DefaultWorldConfig is the default world: 20k users, 10k ad Pins, 50k
// organic Pins, 100k requests over 7 days after 8 weeks of history.
func DefaultWorldConfig() WorldConfig {
	return WorldConfig{
		Sizes: SizesConfig{Users: 20000, AdPins: 10000, OrganicPins: 50000, Requests: 100000, Advertisers: 2000},
		Taxonomy: TaxonomyConfig{
			Groups: 24, CategoriesPerGroup: 20, LatentDim: 16,
			WithinGroupSpread: 0.6, CategorySkew: 0.8,
		},
		Pins: PinsConfig{
			CategoriesPerPin: []float64{0.35, 0.40, 0.25},
			SameGroup:        0.7, MinTotalConfidence: 0.6, LabelNoise: 0.05, LatentNoise: 0.35,
			PopularitySigma: 1.5,
			BidMedian:       0.8, BidSigma: 0.5,
			QualityMean: 0.6, QualitySigma: 1.0,
			ValueMedian: 30, ValueSigma: 0.8,
		},
		Users: UsersConfig{
			AgeMix:              []float64{0.08, 0.14, 0.24, 0.20, 0.15, 0.11, 0.08},
			GenderMix:           []float64{0.08, 0.60, 0.32},
			Countries:           DefaultCountries(),
			DemographicStrength: 1.0,
			AnchorsMean:         3, MaxAnchors: 6,
			ActivitySigma: 1.0,
		},
		History: HistoryConfig{
			Days:         56,
			LengthMedian: 8, LengthSigma: 1.2, LengthMin: 1, LengthMax: 512,
			ActivityCorrelation: 0.5,
			DriftSigmaPerDay:    0.08, AnchorSwapPerDay: 0.01,
			EventNoise: 0.1, RepeatProb: 0.15,
			EventTypes: []float64{0.3, 0.2, 0.5},
			EvalRate:   1.0,
		},
		Requests: RequestsConfig{
			EvalDays:          7,
			SessionLengthMean: 2, SessionGapSeconds: 45,
			IntentMix:    IntentMix{LongTerm: 0.5, Exploration: 0.3, Trend: 0.2},
			NeighborProb: 0.25,
			TrendsPerDay: 5, TrendSkew: 1.0,
			IntentSpread:      0.5,
			SubjectInCategory: 0.6, SubjectInGroup: 0.2,
			LoggedCategories: 3, ContextDrop: 0.03,
			DiurnalAmplitude: 0.4,
		},
		Response: DefaultResponse(),
	}
}

// SmallWorldConfig is a tiny world for tests and CI: 2k users, 1k ad Pins,
// 5k organic Pins, 10k requests over a smaller taxonomy.
func SmallWorldConfig() WorldConfig {
	c := DefaultWorldConfig()
	c.Sizes = SizesConfig{Users: 2000, AdPins: 1000, OrganicPins: 5000, Requests: 10000, Advertisers: 200}
	c.Taxonomy.Groups = 12
	c.Taxonomy.CategoriesPerGroup = 10
	return c
}

// LargeWorldConfig is the large preset: 1M users, 100k ad Pins, 500k organic
// Pins and 10M requests over a taxonomy of 1024 categories. It is generated
// by streaming, in memory bounded by the number of users and Pins.
func LargeWorldConfig() WorldConfig {
	c := DefaultWorldConfig()
	c.Sizes = SizesConfig{Users: 1000000, AdPins: 100000, OrganicPins: 500000, Requests: 10000000, Advertisers: 20000}
	c.Taxonomy.Groups = 32
	c.Taxonomy.CategoriesPerGroup = 32
	return c
}

// PresetNames lists the names Preset accepts.
var PresetNames = []string{"small", "default", "large"}

// Preset returns the named world config: "small", "default" or "large".
func Preset(name string) (WorldConfig, error) {
	switch name {
	case "small":
		return SmallWorldConfig(), nil
	case "default", "":
		return DefaultWorldConfig(), nil
	case "large":
		return LargeWorldConfig(), nil
	}
	return WorldConfig{}, fmt.Errorf("world preset %q: unknown, want one of %s", name, strings.Join(PresetNames, ", "))
}

var yamlUnknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

// LoadWorldConfig reads a YAML file of overrides over base: keys present in
// the file replace base's values, lists are replaced whole. Unknown keys are
// an error naming the key and the file. The result is validated.
func LoadWorldConfig(path string, base WorldConfig) (WorldConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return WorldConfig{}, fmt.Errorf("load world config: %w", err)
	}
	cfg := base.clone()
	if err := DecodeYAML(data, &cfg); err != nil {
		return WorldConfig{}, fmt.Errorf("load world config %s: %w", path, err)
	}
	if err := cfg.Validate(); err != nil {
		return WorldConfig{}, fmt.Errorf("load world config %s: %w", path, err)
	}
	return cfg, nil
}

// clone deep-copies the slices so that decoding over the copy leaves the
// original untouched.
func (c WorldConfig) clone() WorldConfig {
	c.Pins.CategoriesPerPin = append([]float64(nil), c.Pins.CategoriesPerPin...)
	c.Users.AgeMix = append([]float64(nil), c.Users.AgeMix...)
	c.Users.GenderMix = append([]float64(nil), c.Users.GenderMix...)
	c.Users.Countries = append([]CountryWeight(nil), c.Users.Countries...)
	c.History.EventTypes = append([]float64(nil), c.History.EventTypes...)
	return c
}

// Validate checks every knob's range. The error lists every bad key by its
// YAML path.
func (c WorldConfig) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("world config: %s: %s", key, fmt.Sprintf(format, args...)))
	}
	intMin := func(key string, v, lo int) {
		if v < lo {
			bad(key, "must be >= %d, got %d", lo, v)
		}
	}
	intRange := func(key string, v, lo, hi int) {
		if v < lo || v > hi {
			bad(key, "must be in [%d, %d], got %d", lo, hi, v)
		}
	}
	finite := func(key string, v float64) bool {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			bad(key, "must be finite, got %v", v)
			return false
		}
		return true
	}
	prob := func(key string, v float64) {
		if finite(key, v) && (v < 0 || v > 1) {
			bad(key, "must be in [0, 1], got %v", v)
		}
	}
	positive := func(key string, v float64) {
		if finite(key, v) && v <= 0 {
			bad(key, "must be > 0, got %v", v)
		}
	}
	nonNeg := func(key string, v float64) {
		if finite(key, v) && v < 0 {
			bad(key, "must be >= 0, got %v", v)
		}
	}
	mix := func(key string, w []float64, n int) {
		if n > 0 && len(w) != n {
			bad(key, "must have %d weights, got %d", n, len(w))
			return
		}
		var s float64
		for i, x := range w {
			if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
				bad(fmt.Sprintf("%s[%d]", key, i), "must be a finite weight >= 0, got %v", x)
				return
			}
			s += x
		}
		if s <= 0 {
			bad(key, "weights must not all be 0")
		}
	}

	s := c.Sizes
	intRange("sizes.users", s.Users, 1, math.MaxInt32)
	intRange("sizes.ad_pins", s.AdPins, 1, math.MaxInt32)
	intRange("sizes.organic_pins", s.OrganicPins, 1, math.MaxInt32)
	intMin("sizes.requests", s.Requests, 0)
	intRange("sizes.advertisers", s.Advertisers, 1, math.MaxInt32)

	t := c.Taxonomy
	intRange("taxonomy.groups", t.Groups, 1, 4096)
	intRange("taxonomy.categories_per_group", t.CategoriesPerGroup, 1, 4096)
	if t.Groups*t.CategoriesPerGroup > 1<<20 {
		bad("taxonomy", "groups * categories_per_group must be <= %d, got %d", 1<<20, t.Groups*t.CategoriesPerGroup)
	}
	intRange("taxonomy.latent_dim", t.LatentDim, 2, 1024)
	nonNeg("taxonomy.within_group_spread", t.WithinGroupSpread)
	nonNeg("taxonomy.category_skew", t.CategorySkew)

	p := c.Pins
	mix("pins.categories_per_pin", p.CategoriesPerPin, MaxCategoriesPerPin)
	prob("pins.same_group", p.SameGroup)
	if finite("pins.min_total_confidence", p.MinTotalConfidence) && (p.MinTotalConfidence <= 0 || p.MinTotalConfidence > 1) {
		bad("pins.min_total_confidence", "must be in (0, 1], got %v", p.MinTotalConfidence)
	}
	prob("pins.label_noise", p.LabelNoise)
	nonNeg("pins.latent_noise", p.LatentNoise)
	nonNeg("pins.popularity_sigma", p.PopularitySigma)
	positive("pins.bid_median", p.BidMedian)
	nonNeg("pins.bid_sigma", p.BidSigma)
	if finite("pins.quality_mean", p.QualityMean) && (p.QualityMean <= 0 || p.QualityMean >= 1) {
		bad("pins.quality_mean", "must be in (0, 1), got %v", p.QualityMean)
	}
	nonNeg("pins.quality_sigma", p.QualitySigma)
	nonNeg("pins.value_median", p.ValueMedian)
	nonNeg("pins.value_sigma", p.ValueSigma)

	u := c.Users
	mix("users.age_mix", u.AgeMix, NumAgeBuckets)
	mix("users.gender_mix", u.GenderMix, NumGenders)
	if len(u.Countries) == 0 {
		bad("users.countries", "must list at least one country")
	}
	seen := map[string]bool{}
	var cw []float64
	for i, cc := range u.Countries {
		if !validCountry(cc.Code) {
			bad(fmt.Sprintf("users.countries[%d].code", i), "must be an upper-case ISO 3166-1 alpha-2 code, got %q", cc.Code)
		}
		if seen[cc.Code] {
			bad(fmt.Sprintf("users.countries[%d].code", i), "duplicate country %q", cc.Code)
		}
		seen[cc.Code] = true
		cw = append(cw, cc.Weight)
	}
	if len(cw) > 0 {
		mix("users.countries.weight", cw, 0)
	}
	nonNeg("users.demographic_strength", u.DemographicStrength)
	intRange("users.max_anchors", u.MaxAnchors, 1, 64)
	if finite("users.anchors_mean", u.AnchorsMean) && (u.AnchorsMean < 1 || u.AnchorsMean > float64(max(u.MaxAnchors, 1))) {
		bad("users.anchors_mean", "must be in [1, max_anchors=%d], got %v", u.MaxAnchors, u.AnchorsMean)
	}
	nonNeg("users.activity_sigma", u.ActivitySigma)

	h := c.History
	intRange("history.days", h.Days, 1, 3650)
	positive("history.length_median", h.LengthMedian)
	nonNeg("history.length_sigma", h.LengthSigma)
	intRange("history.length_min", h.LengthMin, 0, 1<<20)
	intRange("history.length_max", h.LengthMax, max(h.LengthMin, 1), 1<<20)
	if finite("history.activity_correlation", h.ActivityCorrelation) && (h.ActivityCorrelation < -1 || h.ActivityCorrelation > 1) {
		bad("history.activity_correlation", "must be in [-1, 1], got %v", h.ActivityCorrelation)
	}
	nonNeg("history.drift_sigma_per_day", h.DriftSigmaPerDay)
	prob("history.anchor_swap_per_day", h.AnchorSwapPerDay)
	prob("history.event_noise", h.EventNoise)
	prob("history.repeat_prob", h.RepeatProb)
	mix("history.event_types", h.EventTypes, NumEventTypes)
	nonNeg("history.eval_rate", h.EvalRate)
	if h.Days > 0 && h.LengthMax > h.Days*SecondsPerDay/2 {
		bad("history.length_max", "must be <= days*43200 (one event per two seconds), got %d", h.LengthMax)
	}

	r := c.Requests
	intRange("requests.eval_days", r.EvalDays, 1, 3650)
	if finite("requests.session_length_mean", r.SessionLengthMean) && r.SessionLengthMean < 1 {
		bad("requests.session_length_mean", "must be >= 1, got %v", r.SessionLengthMean)
	}
	nonNeg("requests.session_gap_seconds", r.SessionGapSeconds)
	mix("requests.intent_mix", []float64{r.IntentMix.LongTerm, r.IntentMix.Exploration, r.IntentMix.Trend}, 3)
	prob("requests.neighbor_prob", r.NeighborProb)
	intRange("requests.trends_per_day", r.TrendsPerDay, 1, t.Groups*t.CategoriesPerGroup)
	nonNeg("requests.trend_skew", r.TrendSkew)
	nonNeg("requests.intent_spread", r.IntentSpread)
	prob("requests.subject_in_category", r.SubjectInCategory)
	prob("requests.subject_in_group", r.SubjectInGroup)
	if r.SubjectInCategory+r.SubjectInGroup > 1+1e-9 {
		bad("requests.subject_in_group", "subject_in_category + subject_in_group must be <= 1, got %v", r.SubjectInCategory+r.SubjectInGroup)
	}
	intRange("requests.logged_categories", r.LoggedCategories, 1, MaxCategoriesPerPin)
	prob("requests.context_drop", r.ContextDrop)
	if finite("requests.diurnal_amplitude", r.DiurnalAmplitude) && (r.DiurnalAmplitude < 0 || r.DiurnalAmplitude >= 1) {
		bad("requests.diurnal_amplitude", "must be in [0, 1), got %v", r.DiurnalAmplitude)
	}

	rc := c.Response
	for _, f := range []struct {
		key string
		v   float64
	}{
		{"response.click_bias", rc.ClickBias}, {"response.click_intent", rc.ClickIntent},
		{"response.click_interest", rc.ClickInterest}, {"response.click_quality", rc.ClickQuality},
		{"response.conv_bias", rc.ConvBias}, {"response.conv_intent", rc.ConvIntent},
		{"response.conv_interest", rc.ConvInterest},
	} {
		finite(f.key, f.v)
	}
	return errors.Join(errs...)
}

// validCountry reports whether code looks like an ISO 3166-1 alpha-2 code.
func validCountry(code string) bool {
	return len(code) == 2 && code[0] >= 'A' && code[0] <= 'Z' && code[1] >= 'A' && code[1] <= 'Z'
}

// NumCategories returns the size of the taxonomy.
func (c WorldConfig) NumCategories() int { return c.Taxonomy.Groups * c.Taxonomy.CategoriesPerGroup }

// DecodeYAML decodes a YAML document over v, whose fields keep their values
// where the document is silent. An unknown key is an error that names it
// ("line 2: unknown key userz"); an empty document changes nothing. Every
// config file of cgbench is read through it.
func DecodeYAML(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return errors.New(yamlUnknownField.ReplaceAllString(err.Error(), "unknown key $1"))
	}
	return nil
}
