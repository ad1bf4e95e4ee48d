package datasets

import (
	"context"
	"fmt"
	"strings"
)

// SequenceCategory is the single category of every item imported from a
// sequence file, which carries no item features.
const SequenceCategory = "uncategorized"

// ImportSequences imports a plain sequence file into the dataset folder out,
// which must not hold a dataset yet. The file holds one "user item" pair per
// line, separated by spaces or tabs, each user's lines in time order (users
// may be interleaved); this is the layout the SASRec code ships its datasets
// in. Ids are any tokens without white space. There are no timestamps: a
// user's k-th line (k from 0) happens at SequenceEpoch + k seconds, so line
// order is time order and no two events of a user tie. MinRating must be 0.
// ImportMovieLens documents the mapping into the schema, the
// filters and the tie rule. Malformed lines give a *MalformedError (wrapped).
func ImportSequences(ctx context.Context, file, out string, opts ImportOptions) (*ImportReport, error) {
	r, err := importSequences(ctx, file, out, opts)
	if err != nil {
		return nil, fmt.Errorf("import sequences %s: %w", file, err)
	}
	return r, nil
}

func importSequences(ctx context.Context, file, out string, opts ImportOptions) (*ImportReport, error) {
	if err := opts.validate(false); err != nil {
		return nil, err
	}
	var (
		raw   rawImport
		bad   problems
		users = map[string]int32{}
		items = map[string]int32{}
		next  []int64 // per raw user: lines seen so far
	)
	src, err := scanLines(ctx, file, func(line int, s string) {
		f := strings.Fields(s)
		if len(f) != 2 {
			bad.add(file, line, "%d fields, want 2 (user item)", len(f))
			return
		}
		u, ok := users[f[0]]
		if !ok {
			u = int32(len(raw.users))
			users[f[0]] = u
			raw.users = append(raw.users, rawUser{key: parseIDKey(f[0]), age: -1, country: UnknownCountry})
			next = append(next, 0)
		}
		it, ok := items[f[1]]
		if !ok {
			it = int32(len(raw.items))
			items[f[1]] = it
			raw.items = append(raw.items, rawItem{key: parseIDKey(f[1])})
		}
		raw.inter = append(raw.inter, rawInter{user: u, item: it, ts: SequenceEpoch + next[u]})
		next[u]++
	})
	if err != nil {
		return nil, err
	}
	if err := bad.err(); err != nil {
		return nil, err
	}
	return finishImport(ctx, out, importSpec{
		kind:       SequencesKind,
		createdBy:  SequencesImporterName,
		format:     "sequences",
		timestamps: fmt.Sprintf("synthetic: a user's k-th line at %d + k seconds (line order)", SequenceEpoch),
		categories: []string{SequenceCategory},
		sources:    []ImportSource{src},
		opts:       opts,
	}, &raw)
}
