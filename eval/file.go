package eval

// FileSchemaVersion is the version of the metrics JSON layout (File). It is
// bumped on any incompatible change; readers refuse other versions.
const FileSchemaVersion = 1

// File is the metrics JSON written by `cgbench eval` (metrics.json) and read
// by `cgbench gate` and `cgbench report`. Figures are flat rows keyed by
// (arm, cg, metric, segment, segment value) so that any consumer can filter
// them without knowing every metric in advance.
type File struct {
	SchemaVersion int          `json:"schema_version"`
	Provenance    Provenance   `json:"provenance"`
	Definitions   []Definition `json:"definitions"` // every metric that appears in Figures
	Figures       []Figure     `json:"figures"`
	Comparisons   []Comparison `json:"comparisons"`
	// Distributions are histograms for plots (relevance of retrieved and of
	// delivered candidates, per arm and CG).
	Distributions []Distribution `json:"distributions,omitempty"`
	Warnings      []string       `json:"warnings,omitempty"` // run-level warnings
}

// Provenance records where the figures came from, so that two files can be
// checked for comparability and a report can show it.
type Provenance struct {
	Version        string            `json:"version"`           // cgbench version
	CreatedAt      string            `json:"created_at"`        // RFC 3339, UTC; excluded from comparability
	DataHash       string            `json:"data_hash"`         // content hash of the dataset the replay read
	ConfigHashes   map[string]string `json:"config_hashes"`     // e.g. "world", "funnel", "replay" -> hash
	Configs        map[string]any    `json:"configs,omitempty"` // the configs themselves, for the report
	Seeds          map[string]uint64 `json:"seeds"`             // e.g. "world", "replay", "bootstrap"
	Results        []string          `json:"results"`           // replay result folders read
	Arms           []string          `json:"arms"`
	CGs            []string          `json:"cgs"`
	Ks             []int             `json:"ks"`
	BootstrapReps  int               `json:"bootstrap_reps"`
	ConfidenceLvl  float64           `json:"confidence_level"` // e.g. 0.95
	DefinitionHash string            `json:"definition_hash"`  // hash of Definitions; gate refuses to compare different ones
	Protocol       string            `json:"protocol,omitempty"`
}

// Definition says what a metric measures, in words a reviewer can check.
type Definition struct {
	Name        string `json:"name"` // e.g. "recall@100/logged"
	Description string `json:"description"`
	Unit        string `json:"unit,omitempty"`
	Oracle      bool   `json:"oracle,omitempty"` // computed from the world's truth
}

// Estimate is a figure with its bootstrap confidence interval.
type Estimate struct {
	Value    float64  `json:"value"`
	Lo       float64  `json:"lo"`
	Hi       float64  `json:"hi"`
	N        int      `json:"n"`     // units behind the value (requests, candidates, ...)
	Users    int      `json:"users"` // users resampled by the bootstrap
	Warnings []string `json:"warnings,omitempty"`
}

// Figure is one metric of one CG (or of the whole arm, CG "") in one arm and
// segment. Segment "" with SegmentValue "" is the whole population.
type Figure struct {
	Arm          string `json:"arm"`
	CG           string `json:"cg"`
	Metric       string `json:"metric"`
	Segment      string `json:"segment,omitempty"`
	SegmentValue string `json:"segment_value,omitempty"`
	Estimate
}

// Comparison is a paired difference B - A of one metric on the same
// requests: between two arms for the same CG, or between two CGs.
type Comparison struct {
	Metric       string   `json:"metric"`
	Segment      string   `json:"segment,omitempty"`
	SegmentValue string   `json:"segment_value,omitempty"`
	A            Subject  `json:"a"`
	B            Subject  `json:"b"`
	Diff         Estimate `json:"diff"`        // B - A with its paired interval
	Relative     Estimate `json:"relative"`    // (B - A) / A with its paired interval
	PValue       float64  `json:"p_value"`     // two-sided, paired bootstrap
	PAdjusted    float64  `json:"p_adjusted"`  // Holm-adjusted over the file's comparisons
	Significant  bool     `json:"significant"` // PAdjusted < 1 - confidence level
}

// Subject names one side of a comparison.
type Subject struct {
	Arm string `json:"arm"`
	CG  string `json:"cg"`
}

// Distribution is a histogram of a per-candidate quantity: Counts[i] values
// fell in [Edges[i], Edges[i+1]), the last bin closed on the right.
type Distribution struct {
	Arm    string    `json:"arm"`
	CG     string    `json:"cg"`
	Name   string    `json:"name"` // e.g. "relevance/retrieved", "relevance/delivered"
	Edges  []float64 `json:"edges"`
	Counts []int64   `json:"counts"`
}
