package datasets

import "math"

// ResponseConfig is the world's true user-response model: the probability
// that a user clicks an ad shown on a request, and that a click converts.
// Both are logistic in the cosines between unit latent vectors: the ad's
// latent, the request's session intent and the user's long-term interest.
// The simulator reads it (with the truth tables) to draw responses; a model
// never sees it.
type ResponseConfig struct {
	ClickBias     float64 `yaml:"click_bias" json:"click_bias"`         // logit of pCTR for an ad orthogonal to intent and interest
	ClickIntent   float64 `yaml:"click_intent" json:"click_intent"`     // weight of cos(ad, session intent)
	ClickInterest float64 `yaml:"click_interest" json:"click_interest"` // weight of cos(ad, long-term interest)
	ClickQuality  float64 `yaml:"click_quality" json:"click_quality"`   // weight of creative quality - 0.5
	ConvBias      float64 `yaml:"conv_bias" json:"conv_bias"`           // logit of P(conversion | click) at zero cosines
	ConvIntent    float64 `yaml:"conv_intent" json:"conv_intent"`       // weight of cos(ad, session intent)
	ConvInterest  float64 `yaml:"conv_interest" json:"conv_interest"`   // weight of cos(ad, long-term interest)
}

// DefaultResponse gives a pCTR near 1% for an unrelated ad and near 15% for
// an ad aligned with both intent and interest; conversions follow long-term
// interest more than the session.
func DefaultResponse() ResponseConfig {
	return ResponseConfig{
		ClickBias:     -4.6,
		ClickIntent:   2.2,
		ClickInterest: 1.0,
		ClickQuality:  1.0,
		ConvBias:      -3.2,
		ConvIntent:    0.5,
		ConvInterest:  1.5,
	}
}

// Probabilities returns P(click) and P(conversion | click) for an ad with
// latent vector ad and the given creative quality, shown to a user with
// long-term interest on a request with session intent. The three vectors
// have the same length and unit norm.
func (c ResponseConfig) Probabilities(intent, interest, ad []float32, quality float32) (click, convGivenClick float64) {
	ci := Dot(intent, ad)
	cl := Dot(interest, ad)
	click = Sigmoid(c.ClickBias + c.ClickIntent*ci + c.ClickInterest*cl + c.ClickQuality*(float64(quality)-0.5))
	convGivenClick = Sigmoid(c.ConvBias + c.ConvIntent*ci + c.ConvInterest*cl)
	return click, convGivenClick
}

// Dot returns the dot product of a and b in float64. It panics when their
// lengths differ.
func Dot(a, b []float32) float64 {
	if len(a) != len(b) {
		panic("datasets: Dot of vectors of different lengths")
	}
	var s float64
	for i, x := range a {
		s += float64(x) * float64(b[i])
	}
	return s
}

// Sigmoid is the logistic function.
func Sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// CategoryRelevance is the relevance of an ad to a subject Pin from their
// interest categories: the cosine of their confidence vectors over the
// taxonomy, in [0, 1]. It is 0 when either list is empty.
func CategoryRelevance(subject, ad []CategoryScore) float64 {
	var dot, ns, na float64
	for _, s := range subject {
		ns += float64(s.Confidence) * float64(s.Confidence)
		for _, a := range ad {
			if a.Category == s.Category {
				dot += float64(s.Confidence) * float64(a.Confidence)
			}
		}
	}
	for _, a := range ad {
		na += float64(a.Confidence) * float64(a.Confidence)
	}
	if dot == 0 || ns == 0 || na == 0 {
		return 0
	}
	return dot / math.Sqrt(ns*na)
}
