package datasets

// SchemaVersion is the version of the table layout below. It is written into
// every manifest and bumped on any incompatible change of a column.
const SchemaVersion = 1

// File names of the tables inside a dataset folder. Truth tables live in
// TruthDir so that a model-facing loader can refuse to open them.
const (
	CategoriesFile  = "categories.parquet"
	AdPinsFile      = "ad_pins.parquet"
	OrganicPinsFile = "organic_pins.parquet"
	UsersFile       = "users.parquet"
	EventsFile      = "events.parquet"
	RequestsFile    = "requests.parquet"
	ImpressionsFile = "impressions.parquet"
	ManifestFile    = "manifest.json"

	TruthDir             = "truth"
	TruthCategoriesFile  = "truth/categories.parquet"
	TruthAdPinsFile      = "truth/ad_pins.parquet"
	TruthUsersFile       = "truth/users.parquet"
	TruthRequestsFile    = "truth/requests.parquet"
	SurfaceRelatedPins   = "related_pins"
	DefaultSurface       = SurfaceRelatedPins
	SecondsPerDay        = 86400
	MaxCategoriesPerPin  = 3
	MaxCategoriesPerItem = MaxCategoriesPerPin
)

// Identifiers of categories, ad Pins, organic Pins and users are dense:
// a table with n rows holds the ids 0..n-1, row i holding id i. Importers of
// real logs assign such ids and keep the original ids in their own columns.
// Request ids are arbitrary unique int64 values.

// CategoryScore is one interest category of a Pin with the confidence that
// the Pin belongs to it. Confidences are in (0, 1]; a Pin's list is sorted by
// descending confidence and its confidences sum to at most 1.
type CategoryScore struct {
	Category   int32   `parquet:"category"`
	Confidence float32 `parquet:"confidence"`
}

// Category is a row of the interest taxonomy (categories.parquet).
type Category struct {
	ID    int32  `parquet:"category_id"` // dense id
	Group int32  `parquet:"group_id"`    // top-level group, dense 0..groups-1
	Name  string `parquet:"name"`        // human-readable, for reports
}

// AdPin is a row of ad_pins.parquet: an ad that a CG can retrieve.
type AdPin struct {
	ID              int32           `parquet:"ad_pin_id"`        // dense id
	Advertiser      int32           `parquet:"advertiser_id"`    // >= 0
	Categories      []CategoryScore `parquet:"categories,list"`  // 1..3 entries
	Bid             float32         `parquet:"bid"`              // max cost per click, USD, > 0
	Quality         float32         `parquet:"quality"`          // creative quality, (0, 1]
	ConversionValue float32         `parquet:"conversion_value"` // advertiser value of one conversion, USD, >= 0
}

// OrganicPin is a row of organic_pins.parquet: a Pin a user can view on
// Related Pins, and so the subject of a request.
type OrganicPin struct {
	ID         int32           `parquet:"pin_id"`          // dense id
	Categories []CategoryScore `parquet:"categories,list"` // 1..3 entries
}

// Gender codes of User.Gender.
const (
	GenderUnknown = 0
	GenderFemale  = 1
	GenderMale    = 2
	NumGenders    = 3
)

// NumAgeBuckets is the number of age buckets: 0 unknown, 1 18-24, 2 25-34,
// 3 35-44, 4 45-54, 5 55-64, 6 65+.
const NumAgeBuckets = 7

// User is a row of users.parquet.
type User struct {
	ID        int32  `parquet:"user_id"`    // dense id
	AgeBucket int32  `parquet:"age_bucket"` // 0..NumAgeBuckets-1
	Country   string `parquet:"country"`    // ISO 3166-1 alpha-2 code, upper case
	Gender    int32  `parquet:"gender"`     // GenderUnknown, GenderFemale or GenderMale
}

// Offsite event types of Event.Type.
const (
	EventCheckout  = 0
	EventSignup    = 1
	EventAddToCart = 2
	NumEventTypes  = 3
)

// Event is a row of events.parquet: one offsite conversion of a user on an
// advertiser's site, attributed to an ad Pin. Rows are sorted by user, then
// timestamp, then ad Pin.
type Event struct {
	UserID    int32 `parquet:"user_id"`
	AdPinID   int32 `parquet:"ad_pin_id"`
	Type      int32 `parquet:"event_type"` // EventCheckout, EventSignup or EventAddToCart
	Timestamp int64 `parquet:"timestamp"`  // unix seconds, UTC
}

// Request is a row of requests.parquet: one Related Pins ad request with the
// subject Pin's categories as the serving system logged them. Rows are sorted
// by timestamp, then request id.
type Request struct {
	RequestID         int64           `parquet:"request_id"` // unique
	UserID            int32           `parquet:"user_id"`
	Timestamp         int64           `parquet:"timestamp"` // unix seconds, UTC
	Surface           string          `parquet:"surface"`   // "related_pins"
	SubjectPinID      int32           `parquet:"subject_pin_id"`
	SubjectCategories []CategoryScore `parquet:"subject_categories,list"` // 0..3 entries as logged
}

// Impression is a row of impressions.parquet: an ad delivered to a request by
// the production funnel, and the user's response. Rows are sorted by request
// id, then slot.
type Impression struct {
	RequestID  int64    `parquet:"request_id"`
	AdPinID    int32    `parquet:"ad_pin_id"`
	Slot       int32    `parquet:"slot"`            // 0 is the top slot
	SourceCGs  []string `parquet:"source_cgs,list"` // every CG that retrieved the ad, sorted
	Price      float32  `parquet:"price"`           // cost per click charged by the auction, USD
	Click      bool     `parquet:"click"`
	Conversion bool     `parquet:"conversion"` // only when clicked
	Value      float32  `parquet:"value"`      // conversion value, USD; 0 without conversion
}

// Truth tables. Only the simulator and oracle metrics read these; models
// never do.

// TruthCategory holds a category's latent vector (truth/categories.parquet).
type TruthCategory struct {
	CategoryID int32     `parquet:"category_id"`
	Latent     []float32 `parquet:"latent,list"` // unit length
}

// TruthAdPin holds an ad Pin's latent vector and popularity
// (truth/ad_pins.parquet).
type TruthAdPin struct {
	AdPinID    int32     `parquet:"ad_pin_id"`
	Latent     []float32 `parquet:"latent,list"` // unit length
	Popularity float32   `parquet:"popularity"`  // relative weight, > 0, heavy-tailed
}

// TruthUser holds a user's long-term interest at the start of the evaluation
// window (truth/users.parquet).
type TruthUser struct {
	UserID   int32     `parquet:"user_id"`
	Interest []float32 `parquet:"interest,list"` // unit length
	Activity float32   `parquet:"activity"`      // relative request rate, > 0
}

// Intent kinds of TruthRequest.IntentKind.
const (
	IntentLongTerm    = "long_term"
	IntentExploration = "exploration"
	IntentTrend       = "trend"
)

// TruthRequest holds a request's session intent (truth/requests.parquet).
type TruthRequest struct {
	RequestID      int64     `parquet:"request_id"`
	IntentKind     string    `parquet:"intent_kind"`     // IntentLongTerm, IntentExploration or IntentTrend
	IntentCategory int32     `parquet:"intent_category"` // the category the intent was drawn around
	Intent         []float32 `parquet:"intent,list"`     // unit length
}

// Funnel stages reached by a replayed candidate (CandidateResult.Stage).
// A candidate that reached a stage passed every earlier one.
const (
	StageRetrieved = 0 // returned by its CG
	StagePreRanked = 1 // kept by the pre-ranking truncation
	StageRanked    = 2 // passed the relevance filter and the ranking truncation
	StageImpressed = 3 // won an auction slot and was delivered
	NumStages      = 4
)

// StageNames names the stages in order, for tables and reports.
var StageNames = [NumStages]string{"retrieved", "pre-ranked", "ranked", "impressed"}

// CandidateResult is a row of a replay's candidates table: one candidate
// retrieved by one CG for one request in one arm. An ad Pin retrieved by
// several CGs has one row per CG, each attributed the same funnel outcome.
type CandidateResult struct {
	Arm             string  `parquet:"arm"`
	RequestID       int64   `parquet:"request_id"`
	UserID          int32   `parquet:"user_id"`
	CG              string  `parquet:"cg"`
	AdPinID         int32   `parquet:"ad_pin_id"`
	Rank            int32   `parquet:"rank"`  // 0-based position in the CG's list
	Score           float32 `parquet:"score"` // the CG's retrieval score
	Stage           int32   `parquet:"stage"` // furthest stage reached, Stage*
	Slot            int32   `parquet:"slot"`  // auction slot, -1 when not impressed
	Price           float32 `parquet:"price"` // cost per click, USD; 0 when not impressed
	Click           bool    `parquet:"click"`
	Conversion      bool    `parquet:"conversion"`
	Value           float32 `parquet:"value"`            // conversion value, USD
	Relevance       float32 `parquet:"relevance"`        // category relevance to the subject Pin, [0, 1]
	OracleRelevance float32 `parquet:"oracle_relevance"` // cosine of ad latent and session intent, [-1, 1]
}

// RequestResult is a row of a replay's requests table: one request in one
// arm, with the fields segments split on and the request's funnel totals.
type RequestResult struct {
	Arm             string  `parquet:"arm"`
	RequestID       int64   `parquet:"request_id"`
	UserID          int32   `parquet:"user_id"`
	Day             int32   `parquet:"day"` // day index of the request since the data's first day
	Country         string  `parquet:"country"`
	HistoryLength   int32   `parquet:"history_length"`   // offsite events visible in the CG's snapshot
	ContextStrength float32 `parquet:"context_strength"` // the subject Pin's top logged confidence, 0 when none
	FreshActivity   bool    `parquet:"fresh_activity"`   // offsite events between the snapshot and the request
	LoggedAds       []int32 `parquet:"logged_ads,list"`  // ad Pins of the logged impressions, by slot
	Impressions     int32   `parquet:"impressions"`
	Clicks          int32   `parquet:"clicks"`
	Conversions     int32   `parquet:"conversions"`
	Spend           float32 `parquet:"spend"` // USD
	Value           float32 `parquet:"value"` // conversion value, USD
}

// Replay results folder layout.
const (
	ReplayCandidatesFile = "candidates.parquet"
	ReplayRequestsFile   = "requests.parquet"
	ReplayManifestFile   = "replay.json"
)
