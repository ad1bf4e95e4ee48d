// Package datasets defines the tables of a cgbench dataset folder, reads,
// writes, validates and describes them, and generates the synthetic Related
// Pins world.
//
// # Dataset folder
//
// A dataset is a folder of zstd-compressed Parquet tables written in row
// groups of at most RowGroupRows rows, with list columns in the standard LIST
// encoding:
//
//	categories.parquet     the interest taxonomy (Category)
//	ad_pins.parquet        ads a candidate generator can retrieve (AdPin)
//	organic_pins.parquet   Pins a user can view: request subjects (OrganicPin)
//	users.parquet          users and demographics (User)
//	events.parquet         offsite conversions, history and eval window (Event)
//	requests.parquet       the Related Pins request log (Request)
//	impressions.parquet    logged impressions, written by the funnel (Impression)
//	truth/*.parquet        latent vectors and session intents (Truth*): only
//	                       the simulator and oracle metrics read these
//	manifest.json          schema version, kind, seed, generator config, days,
//	                       and rows, bytes and SHA-256 of every file (Manifest)
//
// Every column is documented on its struct field in schema.go: meaning, unit
// and allowed range. Validate checks all of them; Describe summarises a
// folder; Open and OpenTruth load it; ScanRequests streams the request log.
//
// # The synthetic world
//
// Generate draws a world from a WorldConfig and a seed. Every entity draws
// from its own random stream derived from (seed, stage, entity index), so the
// files do not depend on scheduling: the same config and seed give
// byte-identical files. The story, with z ~ N(0, I) or N(0, 1), unit(v) =
// v/|v| and d the latent dimension:
//
//  1. Taxonomy. G groups of C categories. Group centre g_k = unit(z);
//     category latent c = unit(g_k + s z / sqrt(d)) with s the within-group
//     spread, so categories of one group have cosine about 1/(1+s^2) and
//     categories of different groups about 0. Each category has a prior
//     weight w_c = exp(category_skew z).
//  2. Pins. An ad or organic Pin has k in {1, 2, 3} categories with weights
//     categories_per_pin. The primary category is drawn by the prior; each
//     other one from the primary's group with probability same_group, else by
//     the prior. Confidences: shares proportional to 0.2 + Exp(1), sorted
//     descending, scaled to a total T ~ U(min_total_confidence, 1). The listed
//     categories replace each entry by a random category with probability
//     label_noise; the true ones drive the latents. Ad latent a =
//     unit(sum_i conf_i c_i / T + latent_noise z / sqrt(d)). Popularity is
//     lognormal with sigma popularity_sigma; bid, conversion value lognormal;
//     quality = sigmoid(logit(quality_mean) + quality_sigma z). Advertiser a
//     sells in home category a mod G*C.
//  3. Users. Age bucket, gender and country are drawn from their mixes. Each
//     demographic value has a fixed effect vector e over the groups; a user's
//     group logits are demographic_strength (e_age + e_gender + e_country) /
//     sqrt(3) + z. The user's long-term interest is a mixture of
//     K = min(max_anchors, 1 + Poisson(anchors_mean - 1)) anchor categories
//     (group by the logits' softmax, category by the prior within the group)
//     with log-weights l_j = z_j; the interest vector is
//     u = unit(sum_j softmax(l)_j c_j).
//  4. Activity and history length. z_a, z_l standard normal with correlation
//     activity_correlation; request rate = exp(activity_sigma z_a); history
//     length L = clamp(round(length_median exp(length_sigma z_l)),
//     length_min, length_max) (see HistoryLength): many thin users, some rich.
//     L events fall uniformly in the history window of history.days days and
//     Poisson(L / days * eval_days * eval_rate) more in the eval window, so a
//     daily snapshot of the history goes stale.
//  5. Drift. Every day each log-weight takes a step drift_sigma_per_day z,
//     and with probability anchor_swap_per_day the weakest anchor is replaced
//     by a new one. truth/users.parquet holds u at the start of the eval
//     window.
//  6. Offsite events. In time order: with probability repeat_prob the ad of
//     one of the user's last 5 events again (add to cart, then check out);
//     else a category, by the prior with probability event_noise and by the
//     anchors' current weights otherwise, then an ad listing that category
//     as a true category with probability proportional to popularity x
//     confidence. Event types follow event_types.
//  7. Requests. The eval window is cut into hours; hour h gets its share of
//     the requests by the diurnal rate 1 + diurnal_amplitude cos(2 pi
//     (h - 20) / 24). Sessions: a user by request rate, an intent kind by
//     intent_mix, and an intent category: long_term picks an anchor by its
//     eval-start weight (moved to a sibling category with probability
//     neighbor_prob); exploration picks any category by the prior; trend picks
//     one of the day's trends_per_day trending categories with Zipf weights
//     (exponent trend_skew). Intent latent = unit(c_intent + intent_spread z /
//     sqrt(d)). A session holds Geometric(session_length_mean) requests about
//     session_gap_seconds apart.
//  8. Subject Pin. With probability subject_in_category an organic Pin of the
//     intent category (by popularity x confidence), with probability
//     subject_in_group one of a sibling category, else any Pin by
//     popularity. The log keeps the subject Pin's top logged_categories
//     listed categories, or none with probability context_drop.
//  9. Response. The true click and conversion probabilities of any ad on any
//     request are logistic in cos(ad, session intent) and cos(ad, long-term
//     interest) (ResponseConfig.Probabilities); the simulator draws
//     responses from them with the truth tables.
//
// So long-term interest predicts only part of the sessions, the subject
// Pin's logged categories signal the intent only partly, and the categories
// a model sees are noisier than the latents that decide the response: the
// answer is not built in. Presets: "small" (2k users, for tests), "default"
// (20k users, 100k requests, a few seconds) and "large" (1M users, 10M
// requests, streamed with bounded memory). testdata/world.yaml lists every
// knob with its default.
package datasets
