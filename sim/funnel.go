package sim

import (
	"fmt"
	"math"
	"os"

	"github.com/cgbench/cgbench/datasets"
)

// FunnelConfig sets the size and parameters of every funnel stage after
// retrieval. Sizes count unique ad Pins after the merge.
type FunnelConfig struct {
	// PreRankSize is how many merged candidates the pre-ranking stage
	// keeps, by a light model's eCPM estimate: bid x quality x true pCTR x
	// exp(PreRankNoise x z), z standard normal. Default 300.
	PreRankSize int `yaml:"pre_rank_size" json:"pre_rank_size"`
	// PreRankNoise is the log-normal sigma of the light model's pCTR,
	// larger than the ranking model's. Default 1.0.
	PreRankNoise float64 `yaml:"pre_rank_noise" json:"pre_rank_noise"`
	// RelevanceThreshold filters, at the ranking stage, candidates whose
	// datasets.CategoryRelevance to the subject Pin is below it. Requests
	// without logged subject categories skip the filter. Default 0.05, so
	// an ad must share a category with the subject Pin.
	RelevanceThreshold float64 `yaml:"relevance_threshold" json:"relevance_threshold"`
	// RankSize is how many candidates the ranking stage passes to the
	// auction, by ranking score eCPM + ValueWeight x pCTR x pCVR x
	// conversion value. Default 30.
	RankSize int `yaml:"rank_size" json:"rank_size"`
	// CTRNoise is the log-normal sigma of the ranking model's pCTR
	// (pCTR = min(1, CTRCalibration x true pCTR x exp(CTRNoise x z))).
	// Default 0.3.
	CTRNoise float64 `yaml:"ctr_noise" json:"ctr_noise"`
	// CTRCalibration is the ranking model's multiplicative calibration
	// error of pCTR; 1 is calibrated. Default 1.
	CTRCalibration float64 `yaml:"ctr_calibration" json:"ctr_calibration"`
	// CVRNoise is the log-normal sigma of pCVR (conversion given click).
	// Default 0.5.
	CVRNoise float64 `yaml:"cvr_noise" json:"cvr_noise"`
	// CVRCalibration is the multiplicative calibration error of pCVR.
	// Default 1.
	CVRCalibration float64 `yaml:"cvr_calibration" json:"cvr_calibration"`
	// ValueWeight weighs the advertiser's expected conversion value in the
	// ranking score. Default 0.1.
	ValueWeight float64 `yaml:"value_weight" json:"value_weight"`
	// Slots is the number of ad slots per request. Default 4.
	Slots int `yaml:"slots" json:"slots"`
	// ReservePrice is the auction's eCPM floor, USD per impression (not
	// per thousand). Default 0.002 (a $2 CPM).
	ReservePrice float64 `yaml:"reserve_price" json:"reserve_price"`
	// PositionEffect multiplies the true click probability in each slot;
	// len Slots, each in (0, 1]. Default 1, 0.7, 0.5, 0.4.
	PositionEffect []float64 `yaml:"position_effect" json:"position_effect"`
}

// DefaultFunnelConfig returns the default funnel. Its figures are set from
// production-side facts of a Related Pins-like surface (a few ad slots,
// hundreds of candidates pre-ranked, tens ranked, a CPM floor of a few
// dollars, a steep position decay), never from a learned CG's results.
func DefaultFunnelConfig() FunnelConfig {
	return FunnelConfig{
		PreRankSize:        300,
		PreRankNoise:       1.0,
		RelevanceThreshold: 0.05,
		RankSize:           30,
		CTRNoise:           0.3,
		CTRCalibration:     1,
		CVRNoise:           0.5,
		CVRCalibration:     1,
		ValueWeight:        0.1,
		Slots:              4,
		ReservePrice:       0.002,
		PositionEffect:     []float64{1, 0.7, 0.5, 0.4},
	}
}

// Validate reports the first invalid field.
func (c FunnelConfig) Validate() error {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	switch {
	case c.Slots < 1:
		return fmt.Errorf("invalid funnel config: slots = %d, want >= 1", c.Slots)
	case c.RankSize < c.Slots:
		return fmt.Errorf("invalid funnel config: rank_size = %d, want >= slots (%d)", c.RankSize, c.Slots)
	case c.PreRankSize < c.RankSize:
		return fmt.Errorf("invalid funnel config: pre_rank_size = %d, want >= rank_size (%d)", c.PreRankSize, c.RankSize)
	case !finite(c.PreRankNoise) || c.PreRankNoise < 0:
		return fmt.Errorf("invalid funnel config: pre_rank_noise = %g, want finite >= 0", c.PreRankNoise)
	case !finite(c.RelevanceThreshold) || c.RelevanceThreshold < 0 || c.RelevanceThreshold > 1:
		return fmt.Errorf("invalid funnel config: relevance_threshold = %g, want in [0, 1]", c.RelevanceThreshold)
	case !finite(c.CTRNoise) || c.CTRNoise < 0:
		return fmt.Errorf("invalid funnel config: ctr_noise = %g, want finite >= 0", c.CTRNoise)
	case !finite(c.CVRNoise) || c.CVRNoise < 0:
		return fmt.Errorf("invalid funnel config: cvr_noise = %g, want finite >= 0", c.CVRNoise)
	case !finite(c.CTRCalibration) || c.CTRCalibration <= 0:
		return fmt.Errorf("invalid funnel config: ctr_calibration = %g, want finite > 0", c.CTRCalibration)
	case !finite(c.CVRCalibration) || c.CVRCalibration <= 0:
		return fmt.Errorf("invalid funnel config: cvr_calibration = %g, want finite > 0", c.CVRCalibration)
	case !finite(c.ValueWeight) || c.ValueWeight < 0:
		return fmt.Errorf("invalid funnel config: value_weight = %g, want finite >= 0", c.ValueWeight)
	case !finite(c.ReservePrice) || c.ReservePrice < 0:
		return fmt.Errorf("invalid funnel config: reserve_price = %g, want finite >= 0", c.ReservePrice)
	case len(c.PositionEffect) != c.Slots:
		return fmt.Errorf("invalid funnel config: position_effect has %d entries, want slots = %d", len(c.PositionEffect), c.Slots)
	}
	for i, p := range c.PositionEffect {
		if !(p > 0 && p <= 1) {
			return fmt.Errorf("invalid funnel config: position_effect[%d] = %g, want in (0, 1]", i, p)
		}
	}
	return nil
}

// LoadFunnelConfig reads a YAML funnel config from path over base: fields the
// file sets replace base's, unknown fields are an error, and the result is
// validated. An empty file gives base.
func LoadFunnelConfig(path string, base FunnelConfig) (FunnelConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return FunnelConfig{}, fmt.Errorf("load funnel config: %w", err)
	}
	c := base
	c.PositionEffect = append([]float64(nil), base.PositionEffect...)
	if err := datasets.DecodeYAML(b, &c); err != nil {
		return FunnelConfig{}, fmt.Errorf("load funnel config %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return FunnelConfig{}, fmt.Errorf("load funnel config %s: %w", path, err)
	}
	return c, nil
}
