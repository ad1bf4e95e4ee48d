package model

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestDefaultConfigValid(t *testing.T) {
	for _, kind := range []string{KindBaseline, KindContextual} {
		c := DefaultConfig(kind)
		if err := c.Validate(); err != nil {
			t.Errorf("DefaultConfig(%s).Validate() = %v", kind, err)
		}
		if c.MaxLen != 32 || c.Dim != 64 || c.Layers != 2 || c.Heads != 2 || c.FFN != 256 || c.Temperature != 0.05 || c.Train.BatchSize != 256 {
			t.Errorf("DefaultConfig(%s) = %+v, want the reference shape", kind, c)
		}
		if c.CategoryResidual != (kind == KindBaseline) || c.IDResidual != (kind == KindBaseline) {
			t.Errorf("DefaultConfig(%s): category_residual %v, id_residual %v, want them on for the baseline only", kind, c.CategoryResidual, c.IDResidual)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := DefaultConfig(KindContextual)
	t.Run("overrides", func(t *testing.T) {
		p := write("ok.yaml", "dim: 32\nuser_head: [256, 64]\ncontext:\n  fusion: cross_attention\n  dropout: 0.3\ntrain:\n  epochs: 3\n  seed: 9\n")
		c, err := LoadConfig(p, base)
		if err != nil {
			t.Fatal(err)
		}
		if c.Dim != 32 || !slices.Equal(c.UserHead, []int{256, 64}) || c.Context.Fusion != FusionCrossAttention ||
			c.Context.Dropout != 0.3 || c.Train.Epochs != 3 || c.Train.Seed != 9 {
			t.Errorf("LoadConfig = %+v, want the overrides applied", c)
		}
		if c.Heads != base.Heads || c.Context.TopK != base.Context.TopK || c.Train.LR != base.Train.LR {
			t.Errorf("LoadConfig changed keys absent from the file")
		}
		if !slices.Equal(base.UserHead, DefaultConfig(KindContextual).UserHead) {
			t.Errorf("LoadConfig modified the base config's slice: %v", base.UserHead)
		}
	})
	t.Run("empty file keeps base", func(t *testing.T) {
		c, err := LoadConfig(write("empty.yaml", ""), base)
		if err != nil || c.Dim != base.Dim {
			t.Errorf("LoadConfig(empty) = %+v, %v", c, err)
		}
	})
	for _, tc := range []struct {
		name, body, wants string
	}{
		{"unknown key", "dim: 32\nlayerz: 3\n", "layerz"},
		{"unknown nested key", "context:\n  fusoin: concat\n", "fusoin"},
		{"bad rate", "context:\n  dropout: 0.95\n", "context.dropout = 0.95"},
		{"bad fusion", "context:\n  fusion: sum\n", "context.fusion"},
		{"heads", "dim: 30\nheads: 4\n", "multiple of heads"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := write(strings.ReplaceAll(tc.name, " ", "_")+".yaml", tc.body)
			_, err := LoadConfig(p, base)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.wants) || !strings.Contains(err.Error(), p) {
				t.Errorf("error = %v, want it to name %q and the file", err, tc.wants)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(c *Config)
		wants string
	}{
		{"kind", func(c *Config) { c.Kind = "x" }, "kind"},
		{"dropout negative", func(c *Config) { c.Dropout = -0.1 }, "dropout"},
		{"whole dropout", func(c *Config) { c.Context.WholeDropout = 0.91 }, "context.whole_dropout"},
		{"dropout at bound", func(c *Config) { c.Context.Dropout = 0.9 }, ""},
		{"no context inputs", func(c *Config) { c.Context.UseCategories, c.Context.UseDemographics = false, false }, "use_categories"},
		{"projection", func(c *Config) { c.PseudoContext.Projection = "x" }, "projection"},
		{"mixture prob", func(c *Config) { c.PseudoContext.MixtureProb = 1.5 }, "mixture_prob"},
		{"batch", func(c *Config) { c.Train.BatchSize = 1 }, "batch_size"},
		{"lr", func(c *Config) { c.Train.LR = 0 }, "train.lr"},
		{"validation share", func(c *Config) { c.Train.ValidationShare = 2 }, "validation_share"},
		{"head width", func(c *Config) { c.UserHead = []int{0} }, "user_head[0]"},
		{"schedule", func(c *Config) { c.Train.Schedule = "step" }, "schedule"},
		{"temperature", func(c *Config) { c.Temperature = 0 }, "temperature"},
		{"id init scale", func(c *Config) { c.IDInitScale = 1.5 }, "id_init_scale"},
		{"id init scale zero", func(c *Config) { c.IDInitScale = 0 }, ""},
		{"out dim", func(c *Config) { c.OutDim = -1 }, "out_dim"},
		{"pooling", func(c *Config) { c.Pooling = "max" }, "pooling"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig(KindContextual)
			tc.edit(&c)
			err := c.Validate()
			if tc.wants == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wants) {
				t.Errorf("Validate() = %v, want an error naming %q", err, tc.wants)
			}
		})
	}
}

func TestConfigYAMLRoundTrip(t *testing.T) {
	c := DefaultConfig(KindContextual)
	c.UserHead = []int{64, 32}
	c.Train.Cutoff = 12345
	y, err := c.marshalYAML()
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseConfig(y, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if jsonOf(got) != jsonOf(c) {
		t.Errorf("round trip:\n got %s\nwant %s", jsonOf(got), jsonOf(c))
	}
}
