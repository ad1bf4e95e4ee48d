package eval

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cgbench/cgbench/datasets"
)

// ExportTREC writes one CG of one arm of a replay results folder as a TREC
// run file and the positives of the chosen flavour (FlavourLogged or
// FlavourCounterfactual) as a qrels file, in outDir, so that Recall@K, NDCG@K
// and MRR can be cross-checked with trec_eval or ranx:
//
//	run:   "<request_id> Q0 <ad_pin_id> <rank> <score> <runname>"
//	qrels: "<request_id> 0 <ad_pin_id> 1"
//
// The run lists each request's CG list as Compute sees it: rows ordered by
// rank (ties by ad Pin id), duplicates dropped after their first occurrence,
// rank 1-based, and score = list length - rank + 1, so that score order is
// the rank order (trec_eval ranks by score, not by the rank column). The
// qrels hold every request of the arm with at least one positive, including
// those where the CG retrieved nothing: run trec_eval with -c (e.g.
// `trec_eval -c -m recall.100 -m ndcg_cut.100 qrels run`) to average over
// them as Compute does. The files are named "<arm>.<cg>.run" and
// "<arm>.<cg>.<flavour>.qrels" (characters outside [A-Za-z0-9._-] become
// "_"); the run name is "<arm>.<cg>" likewise.
func ExportTREC(result string, arm, cg string, flavour string, outDir string) (runPath, qrelsPath string, err error) {
	if flavour != FlavourLogged && flavour != FlavourCounterfactual {
		return "", "", fmt.Errorf("export trec: flavour %q: want %q or %q", flavour, FlavourLogged, FlavourCounterfactual)
	}
	positives := map[int64][]int32{}
	var arms []string
	err = datasets.ScanResultTable(result, datasets.ReplayRequestsFile, 8192, func(reqPath string, first int64, rows []datasets.RequestResult) error {
		for i := range rows {
			r := &rows[i]
			if !slices.Contains(arms, r.Arm) {
				arms = append(arms, r.Arm)
			}
			if r.Arm != arm {
				continue
			}
			if _, dup := positives[r.RequestID]; dup {
				return fmt.Errorf("read %s: row %d: request %d appears twice in arm %q", reqPath, first+int64(i), r.RequestID, arm)
			}
			positives[r.RequestID] = nil
			if flavour == FlavourLogged {
				positives[r.RequestID] = slices.Clone(r.LoggedAds)
			}
		}
		return nil
	})
	if err != nil {
		return "", "", fmt.Errorf("export trec: %w", err)
	}
	if !slices.Contains(arms, arm) {
		return "", "", fmt.Errorf("export trec: arm %q not in the requests of %s (arms: %s)", arm, result, strings.Join(arms, ", "))
	}

	type entry struct {
		rank int32
		ad   int32
	}
	lists := map[int64][]entry{}
	var cgs []string
	err = datasets.ScanResultTable(result, datasets.ReplayCandidatesFile, 8192, func(candPath string, first int64, rows []datasets.CandidateResult) error {
		for i := range rows {
			r := &rows[i]
			if r.Arm != arm {
				continue
			}
			if _, ok := positives[r.RequestID]; !ok {
				return fmt.Errorf("read %s: row %d: request %d of arm %q is not in the requests of %s", candPath, first+int64(i), r.RequestID, arm, result)
			}
			if !slices.Contains(cgs, r.CG) {
				cgs = append(cgs, r.CG)
			}
			if flavour == FlavourCounterfactual && r.Stage == datasets.StageImpressed {
				positives[r.RequestID] = append(positives[r.RequestID], r.AdPinID)
			}
			if r.CG == cg {
				lists[r.RequestID] = append(lists[r.RequestID], entry{r.Rank, r.AdPinID})
			}
		}
		return nil
	})
	if err != nil {
		return "", "", fmt.Errorf("export trec: %w", err)
	}
	if !slices.Contains(cgs, cg) {
		slices.Sort(cgs)
		return "", "", fmt.Errorf("export trec: CG %q has no candidates in arm %q of %s (CGs: %s)", cg, arm, result, strings.Join(cgs, ", "))
	}

	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", "", fmt.Errorf("export trec: %w", err)
	}
	name := trecName(arm) + "." + trecName(cg)
	runPath = filepath.Join(outDir, name+".run")
	qrelsPath = filepath.Join(outDir, name+"."+flavour+".qrels")

	ids := make([]int64, 0, len(lists))
	for id := range lists {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	err = datasets.WriteFileAtomic(runPath, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		var buf []byte
		for _, id := range ids {
			l := lists[id]
			slices.SortStableFunc(l, func(x, y entry) int {
				if c := cmp.Compare(x.rank, y.rank); c != 0 {
					return c
				}
				return cmp.Compare(x.ad, y.ad)
			})
			var ads []int32
			for _, e := range l {
				if !slices.Contains(ads, e.ad) {
					ads = append(ads, e.ad)
				}
			}
			for p, ad := range ads {
				buf = buf[:0]
				buf = strconv.AppendInt(buf, id, 10)
				buf = append(buf, " Q0 "...)
				buf = strconv.AppendInt(buf, int64(ad), 10)
				buf = append(buf, ' ')
				buf = strconv.AppendInt(buf, int64(p+1), 10)
				buf = append(buf, ' ')
				buf = strconv.AppendInt(buf, int64(len(ads)-p), 10)
				buf = append(buf, ' ')
				buf = append(buf, name...)
				buf = append(buf, '\n')
				if _, err := bw.Write(buf); err != nil {
					return err
				}
			}
		}
		return bw.Flush()
	})
	if err != nil {
		return "", "", fmt.Errorf("export trec: %w", err)
	}

	qids := make([]int64, 0, len(positives))
	for id, p := range positives {
		if len(p) > 0 {
			qids = append(qids, id)
		}
	}
	slices.Sort(qids)
	err = datasets.WriteFileAtomic(qrelsPath, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		for _, id := range qids {
			p := slices.Clone(positives[id])
			slices.Sort(p)
			for _, ad := range slices.Compact(p) {
				if _, err := fmt.Fprintf(bw, "%d 0 %d 1\n", id, ad); err != nil {
					return err
				}
			}
		}
		return bw.Flush()
	})
	if err != nil {
		return "", "", fmt.Errorf("export trec: %w", err)
	}
	return runPath, qrelsPath, nil
}

// trecName keeps a name safe as a file name and a TREC field.
func trecName(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '_'
	}, s)
}
