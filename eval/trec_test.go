package eval

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

func TestExportTRECHand(t *testing.T) {
	dir := t.TempDir()
	reqs, cands := handFixture()
	writeResults(t, dir, reqs, cands, nil)
	out := filepath.Join(t.TempDir(), "trec")
	cases := []struct {
		cg, flavour string
		run, qrels  string
	}{
		{"x", FlavourCounterfactual,
			"1 Q0 10 1 3 A.x\n1 Q0 12 2 2 A.x\n1 Q0 13 3 1 A.x\n2 Q0 20 1 2 A.x\n2 Q0 21 2 1 A.x\n",
			"1 0 10 1\n1 0 14 1\n2 0 20 1\n"},
		{"y", FlavourLogged,
			"1 Q0 14 1 2 A.y\n1 Q0 11 2 1 A.y\n",
			"1 0 10 1\n1 0 11 1\n"},
	}
	for _, tc := range cases {
		t.Run(tc.cg+"/"+tc.flavour, func(t *testing.T) {
			runPath, qrelsPath, err := ExportTREC(dir, "A", tc.cg, tc.flavour, out)
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Base(runPath) != "A."+tc.cg+".run" || filepath.Base(qrelsPath) != "A."+tc.cg+"."+tc.flavour+".qrels" {
				t.Errorf("paths %s, %s", runPath, qrelsPath)
			}
			run, _ := os.ReadFile(runPath)
			qrels, _ := os.ReadFile(qrelsPath)
			if string(run) != tc.run {
				t.Errorf("run file =\n%s\nwant\n%s", run, tc.run)
			}
			if string(qrels) != tc.qrels {
				t.Errorf("qrels file =\n%s\nwant\n%s", qrels, tc.qrels)
			}
		})
	}
	for _, bad := range []struct{ arm, cg, flavour, want string }{
		{"Z", "x", FlavourLogged, "arm \"Z\""},
		{"A", "zz", FlavourLogged, "CG \"zz\""},
		{"A", "x", "oracle", "flavour"},
	} {
		if _, _, err := ExportTREC(dir, bad.arm, bad.cg, bad.flavour, out); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ExportTREC(%s, %s, %s) error = %v, want one mentioning %s", bad.arm, bad.cg, bad.flavour, err, bad.want)
		}
	}
}

// TestExportTRECCrossCheck evaluates the exported files the way trec_eval -c
// does (rank by score, ties by docid descending; queries of the qrels
// without a run count 0) and compares with Compute's recall@K and NDCG@K.
func TestExportTRECCrossCheck(t *testing.T) {
	dir := t.TempDir()
	s := synth{seed: 21, users: 25, requests: 90, arms: []string{"a"}, cgs: []string{"c"}, listLen: 12, quality: map[string]float64{"a": 0.4}}
	reqs, cands := s.generate()
	writeResults(t, dir, reqs, cands, nil)
	f, err := Compute(context.Background(), []string{dir}, Options{Ks: []int{1, 5, 10}, BootstrapReps: 20, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	for _, flavour := range []string{FlavourLogged, FlavourCounterfactual} {
		runPath, qrelsPath, err := ExportTREC(dir, "a", "c", flavour, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		run := parseTREC(t, runPath, 6)
		qrels := parseTREC(t, qrelsPath, 4)
		rel := map[string]map[string]bool{}
		for _, q := range qrels {
			if rel[q[0]] == nil {
				rel[q[0]] = map[string]bool{}
			}
			rel[q[0]][q[2]] = true
		}
		docs := map[string][][2]string{}
		for _, r := range run {
			docs[r[0]] = append(docs[r[0]], [2]string{r[2], r[4]})
		}
		for _, k := range []int{1, 5, 10} {
			var rsum, nsum float64
			for qid, pos := range rel {
				d := docs[qid]
				sort.SliceStable(d, func(i, j int) bool {
					si, _ := strconv.ParseFloat(d[i][1], 64)
					sj, _ := strconv.ParseFloat(d[j][1], 64)
					if si != sj {
						return si > sj
					}
					return d[i][0] > d[j][0]
				})
				var hits int
				var dcg, idcg float64
				for i := 0; i < len(d) && i < k; i++ {
					if pos[d[i][0]] {
						hits++
						dcg += 1 / math.Log2(float64(i)+2)
					}
				}
				for i := 0; i < len(pos) && i < k; i++ {
					idcg += 1 / math.Log2(float64(i)+2)
				}
				rsum += float64(hits) / float64(len(pos))
				nsum += dcg / idcg
			}
			n := float64(len(rel))
			g, _ := f.Lookup("a", "c", "recall@"+strconv.Itoa(k)+"/"+flavour, "", "")
			if math.Abs(g.Value-rsum/n) > 1e-12 || g.N != len(rel) {
				t.Errorf("%s recall@%d: Compute %v (n %d), TREC files %v (n %d)", flavour, k, g.Value, g.N, rsum/n, len(rel))
			}
			g, _ = f.Lookup("a", "c", "ndcg@"+strconv.Itoa(k)+"/"+flavour, "", "")
			if math.Abs(g.Value-nsum/n) > 1e-12 {
				t.Errorf("%s ndcg@%d: Compute %v, TREC files %v", flavour, k, g.Value, nsum/n)
			}
		}
	}
}

func parseTREC(t *testing.T, path string, fields int) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != fields {
			t.Fatalf("%s line %d: %d fields, want %d: %q", path, i+1, len(f), fields, line)
		}
		out = append(out, f)
	}
	return out
}
