package datasets
import ("testing";"context";"time")
func TestQuickProf(t *testing.T){
 cfg,_ := Preset("default")
 dir := t.TempDir()
 Generate(context.Background(), cfg, 1, dir, nil)
 st := time.Now()
 for i:=0;i<3;i++ { Validate(context.Background(), dir) }
 t.Logf("validate %v", time.Since(st)/3)
}
