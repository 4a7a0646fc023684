package cmd

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// flagError says in words what is wrong with a flag's value. pflag's own message carries the
// parser's ("time: unknown unit \"x\" in duration \"5x\"", "strconv.Atoi: parsing \"abc\":
// invalid syntax"), which names a Go function, not what the flag takes. Other flag errors
// (unknown flag, missing value) are already in words and pass through.
func flagError(err error) error {
	var invalid *pflag.InvalidValueError
	if !errors.As(err, &invalid) {
		return err
	}
	f, value := invalid.GetFlag(), invalid.GetValue()
	name := "--" + f.Name
	switch f.Value.Type() {
	case "duration":
		return fmt.Errorf("%s %q is not a duration: use a number with a unit, such as 500ms, 30s, 5m or 1h", name, value)
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return fmt.Errorf("%s %q is not a whole number", name, value)
	case "float32", "float64":
		return fmt.Errorf("%s %q is not a number", name, value)
	case "bool":
		return fmt.Errorf("%s %q: use true or false (or the flag alone for true)", name, value)
	case "intSlice", "uintSlice", "int32Slice", "int64Slice":
		example := strings.Trim(f.DefValue, "[]")
		if example == "" {
			example = "10,50,100"
		}
		return fmt.Errorf("%s %q is not a list of whole numbers: separate them with commas, as in %s", name, value, example)
	}
	return fmt.Errorf("%s %q is not a valid value", name, value)
}
