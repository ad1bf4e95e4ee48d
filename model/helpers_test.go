package model

import (
	"fmt"
	"os"
)

func mkdirAll(dir string) error { return os.MkdirAll(dir, 0o755) }

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
