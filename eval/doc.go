// Package eval computes the metrics of replay results with bootstrap
// confidence intervals, paired comparisons and segments, writes them as a
// versioned metrics file, exports TREC files, and gates CI on regressions.
//
// The metric core reads replay results (datasets.CandidateResult and
// datasets.RequestResult tables) and never imports model or sim.
//
// # Pipeline (Compute)
//
//  1. Read replay.json (opaque; "data_hash", "seed" and "arms" are taken,
//     the whole object goes to Provenance.Configs["replay"]) and
//     requests.parquet of every results folder. Arms of several folders are
//     merged; arm names must be unique. Segments and country tiers are
//     assigned per request.
//  2. Scan candidates.parquet in batches. The rows of one (arm, request)
//     must be contiguous (the replay writes them grouped by request, then
//     arm, CG and rank); within a group they are ordered by CG, rank and ad
//     Pin id. Groups go to two goroutines by user, which fold them into
//     per-user sums: every figure is a ratio of two sums over users, or a
//     median read off per-user histogram counts.
//  3. Per row set (whole population, then each segment value), bootstrap
//     the per-user sums (Poisson(1) weight per user and replicate, seeded per
//     user and block of replicates) and derive each figure, its percentile
//     interval, and each paired comparison from the same replicates.
//  4. Holm-adjust the comparisons' p-values over the whole file.
//
// # Metrics
//
// Definitions lists every metric with its exact definition; the notable
// choices:
//
//   - Ranking metrics (recall@K, NDCG@K, hit@K, MRR) are means over the
//     arm's requests that have at least one positive. Positives are the
//     logged impressions ("/logged") or the ads that the arm's simulated
//     funnel delivered on that request, from any CG ("/counterfactual"). A
//     CG's list is its rows by rank (ties by ad Pin id); a duplicate ad counts
//     once, at its first position, and takes no position. Recall@K is
//     monotone in K by construction (cumulative hit counts).
//   - Survival is cumulative from retrieval: survival/ranked is the share of
//     retrieved candidates that reached at least the ranked stage;
//     survival/impressed is end to end.
//   - impression_share: an ad retrieved by several CGs counts for each, so
//     the shares of an arm's CGs can sum above 1.
//   - Medians are weighted lower medians located on a 1024-bin grid (see
//     median.go); in a bootstrap replicate every candidate weighs its user's
//     weight.
//   - Oracle metrics (computed from the world's truth) are named "oracle_"
//     and their Definition has Oracle = true.
//   - Arm-level figures have CG "": roas, roas/country=CC (top 3 countries
//     of the arm by spend), clicks_per_request, conversions_per_request and
//     the arm's delivered relevance.
//
// # Statistics
//
// Intervals are percentile intervals of the replicates at
// Options.Confidence. A replicate where a ratio's denominator is zero is
// left out (and counted in a warning). A comparison B - A of two figures uses
// the same replicates on both sides (the same users with the same weights),
// so it is paired; Comparison.Relative is (B - A) / A. The p-value is
// two-sided, 2 * Phi(-|B - A| / se) with se the standard deviation of the
// paired replicates; PAdjusted is Holm's adjustment over every comparison
// of the file and Significant is PAdjusted < 1 - confidence.
//
// Warnings are data, carried in Estimate.Warnings next to the number: fewer
// than 30 requests, fewer than 20 users, fewer than 10 positives (or
// impressions), zero spend, an undefined value (value 0, never NaN),
// undefined replicates, and bootstrap medians clamped to their window.
//
// # Segments
//
// history_length ("0", "1-2", "3-9", "10-49", "50+"), context_strength
// ("none", "weak" < 0.4, "medium" < 0.7, "strong"), fresh_activity
// ("fresh", "not_fresh") and country_tier ("tier1": top 3 countries by
// distinct requests, "tier2": next 7, "tier3": the rest). A request's
// segment values come from its first row in the results, so that every arm
// puts it in the same segment.
//
// # The metrics file (schema version FileSchemaVersion)
//
// File is written as indented JSON with fields in declaration order and
// sorted map keys. Figures are flat rows (arm, cg, metric, segment,
// segment_value) with value, lo, hi, n, users and warnings, ordered by arm,
// CG ("" first, then by name), metric, then row set. Provenance records the
// cgbench version, creation time (the only field that differs between two
// runs with the same inputs and seed), data hash, replay configs and their
// hashes, seeds ("bootstrap", "replay"), Ks, replicates, confidence level and
// DefinitionHash (SHA-256 of the JSON of the sorted Definitions). ReadFile
// refuses other schema versions and unknown fields. WriteCSV and
// WriteComparisonsCSV export the figures and comparisons as CSV.
//
// # Gate and TREC export
//
// Gate compares two metrics files; its doc comment states the regression
// rule. ExportTREC writes a run and a qrels file for one CG of one arm, to
// cross-check recall and NDCG with trec_eval -c or ranx.
package eval
