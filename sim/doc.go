// Package sim simulates the Related Pins ads funnel that a candidate
// generator's candidates must survive, and replays request logs through it.
//
// The pipeline, per request and per arm (a mix of CGs):
//
//  1. Query: the request, its user and the cutoff of the user state a CG may
//     read, set by the staleness policy (realtime, daily, weekly).
//  2. Retrieval: every Generator of the arm returns its top-K ad Pins.
//     Heuristic production CGs (content, popularity, retargeting,
//     history_interest) need no training; embedding CGs encode the user with
//     a UserEncoder and search an Index (exact or IVF).
//  3. Merge: candidates are merged with source attribution; an ad Pin
//     retrieved by several CGs is attributed to each of them.
//  4. Pre-ranking: a light model's noisy eCPM estimate keeps PreRankSize
//     candidates.
//  5. Ranking: a relevance filter against the subject Pin, then noisy,
//     possibly miscalibrated pCTR and pCVR estimates of the true response
//     probabilities; the top RankSize candidates by ranking score go on.
//  6. Auction: a generalized second-price auction on eCPM = bid x pCTR x
//     quality with a reserve price fills a few slots (RunAuction).
//  7. Response: clicks, conversions and value are drawn from the world's true
//     probabilities with common random numbers per (seed, request, ad Pin),
//     so two arms that show the same ad in the same slot get the same
//     response.
//
// LogProduction runs the production mix to produce the logged impressions of
// a dataset; Replay runs chosen arms and writes per-request and
// per-candidate results (datasets.CandidateResult, datasets.RequestResult)
// that package eval reads. Every random draw derives from (seed, request id,
// ad Pin), so results do not depend on goroutine scheduling or sharding.
package sim
