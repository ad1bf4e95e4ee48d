package eval

import (
	"regexp"
	"slices"
)

// Definitions returns the definition of every metric name pattern, sorted by
// name. In a pattern, K stands for a cut-off (Provenance.Ks) and CC for a
// country code. File.Definitions holds this list and
// Provenance.DefinitionHash its DefinitionHash: two files whose definitions
// differ are not compared by the gate.
func Definitions() []Definition {
	const (
		perReq = " Mean over the requests of the arm with at least one positive (a request where the CG retrieved nothing counts 0); the same average trec_eval -c computes on ExportTREC's files."
		dup    = " The CG's list is its rows ordered by rank (ties by ad Pin id); a duplicate ad counts once, at its first position, and takes no position."
		logged = " Positives: the request's logged impressions (RequestResult.logged_ads), as the reference system evaluates offline replay."
		cf     = " Positives: the ads the arm's simulated funnel delivered on the request (impressed candidates of any CG)."
	)
	defs := []Definition{
		{Name: "recall@K/logged", Description: "Share of the request's positives found in the CG's top K." + logged + perReq + dup},
		{Name: "recall@K/counterfactual", Description: "Share of the request's positives found in the CG's top K." + cf + perReq + dup},
		{Name: "ndcg@K/logged", Description: "NDCG@K with binary gains: sum of 1/log2(p+2) over positive positions p < K (0-based), over the same for an ideal list of min(K, positives) positives." + logged + perReq + dup},
		{Name: "ndcg@K/counterfactual", Description: "NDCG@K with binary gains: sum of 1/log2(p+2) over positive positions p < K (0-based), over the same for an ideal list of min(K, positives) positives." + cf + perReq + dup},
		{Name: "hit@K/logged", Description: "1 when any positive is in the CG's top K, else 0." + logged + perReq + dup},
		{Name: "hit@K/counterfactual", Description: "1 when any positive is in the CG's top K, else 0." + cf + perReq + dup},
		{Name: "mrr/logged", Description: "Reciprocal rank 1/(p+1) of the first positive in the CG's list, 0 when none." + logged + perReq + dup},
		{Name: "mrr/counterfactual", Description: "Reciprocal rank 1/(p+1) of the first positive in the CG's list, 0 when none." + cf + perReq + dup},
		{Name: "survival/pre-ranked", Description: "The CG's retrieved candidates that passed the pre-ranking truncation, over its retrieved candidates (summed over requests).", Unit: "share"},
		{Name: "survival/ranked", Description: "The CG's retrieved candidates that passed the relevance filter and ranking truncation, over its retrieved candidates.", Unit: "share"},
		{Name: "survival/impressed", Description: "End-to-end survival: the CG's retrieved candidates delivered to impression, over its retrieved candidates.", Unit: "share"},
		{Name: "impression_share", Description: "Impressions of the CG's candidates over all impressions of the arm. An ad retrieved by several CGs counts for each, so the shares of an arm's CGs can sum above 1.", Unit: "share"},
		{Name: "candidates_per_request", Description: "The CG's retrieved candidates (distinct ads) per request of the arm.", Unit: "candidates"},
		{Name: "median_relevance/retrieved", Description: "Weighted lower median of the category relevance to the subject Pin (CandidateResult.relevance) of the CG's retrieved candidates, located on a grid of 1024 bins over [0, 1] and reported as the mean of the values in its bin (exact when the bin holds one distinct value); in a bootstrap replicate each candidate weighs its user's weight."},
		{Name: "mean_relevance/delivered", Description: "Mean category relevance to the subject Pin of the delivered impressions (of the CG's candidates; of the arm with CG \"\")."},
		{Name: "oracle_median_relevance/retrieved", Description: "Oracle: weighted lower median of the cosine of the ad's latent vector and the session intent (CandidateResult.oracle_relevance) over the CG's retrieved candidates, located on a grid of 1024 bins over [-1, 1] and reported as the mean of the values in its bin. Computed from the world's truth.", Oracle: true},
		{Name: "oracle_mean_relevance/delivered", Description: "Oracle: mean cosine of the ad's latent vector and the session intent over the delivered impressions. Computed from the world's truth.", Oracle: true},
		{Name: "roas", Description: "Arm level: conversion value over spend, summed over the arm's requests.", Unit: "USD/USD"},
		{Name: "roas/country=CC", Description: "Arm level: ROAS on the requests from country CC, for the arm's top 3 countries by spend.", Unit: "USD/USD"},
		{Name: "clicks_per_request", Description: "Arm level: clicks per request.", Unit: "clicks"},
		{Name: "conversions_per_request", Description: "Arm level: conversions per request.", Unit: "conversions"},
	}
	slices.SortFunc(defs, func(x, y Definition) int {
		switch {
		case x.Name < y.Name:
			return -1
		case x.Name > y.Name:
			return 1
		}
		return 0
	})
	return defs
}

var (
	kPattern       = regexp.MustCompile(`@[0-9]+`)
	countryPattern = regexp.MustCompile(`country=[^/]*$`)
)

// DefinitionName maps a metric name to its definition's pattern name:
// "recall@100/logged" -> "recall@K/logged", "roas/country=US" ->
// "roas/country=CC".
func DefinitionName(metric string) string {
	m := kPattern.ReplaceAllString(metric, "@K")
	return countryPattern.ReplaceAllString(m, "country=CC")
}

// Definition returns the definition of a metric name in f.
func (f *File) Definition(metric string) (Definition, bool) {
	name := DefinitionName(metric)
	for _, d := range f.Definitions {
		if d.Name == name {
			return d, true
		}
	}
	return Definition{}, false
}
