package datasets
import ("testing";"context";"time";"encoding/json";"fmt")
func TestQuickGen(t *testing.T){
 for _, name := range []string{"small","default"} {
 cfg,_ := Preset(name)
 st := time.Now()
 dir := t.TempDir()
 _, err := Generate(context.Background(), cfg, 1, dir, nil)
 if err != nil { t.Fatal(err) }
 t.Logf("%s gen %v", name, time.Since(st)); st = time.Now()
 p, err := Validate(context.Background(), dir)
 t.Logf("validate %v %v %v", time.Since(st), err, p); st = time.Now()
 d, err := Describe(dir)
 b,_ := json.MarshalIndent(d, "", " ")
 t.Logf("describe %v %v", time.Since(st), err); st = time.Now()
 if name == "small" { fmt.Println(string(b)) }
 w, err := Open(dir, OpenOptions{})
 if err != nil { t.Fatal(err) }
 tr, err := OpenTruth(dir, w)
 if err != nil { t.Fatal(err) }
 t.Logf("open %v %d %d", time.Since(st), len(w.Events), len(tr.Requests))
 }
}
