package telemetry

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/prometheus/common/model"
)

// apiError is Prometheus's own account of a failed query.
type apiError struct{ kind, message string }

func (e *apiError) Error() string { return e.kind + ": " + e.message }

// decodeVector reads Prometheus's answer to an instant query,
//
//	{"status":"success","data":{"resultType":"vector","result":[{"metric":{...},"value":[t,"v"]},...]}}
//
// handing each sample to each as it goes; an error answer becomes an *apiError. It is a
// small reader for this one shape: the bucket answers of a large mesh run to megabytes, and
// encoding/json spends most of the graph's time on them. Label names and values repeat from
// sample to sample, so each distinct one is allocated once.
func decodeVector(r io.Reader, each func(model.Metric, float64)) error {
	_, err := decodeAnswer(r, each)
	return err
}

// decodeAnswer is decodeVector that also returns the answer's warnings (Thanos says so of a
// partial answer); its infos are left out.
func decodeAnswer(r io.Reader, each func(model.Metric, float64)) (warnings []string, err error) {
	d := &vectorDecoder{r: bufio.NewReaderSize(r, 64<<10), interned: map[string]string{}}
	var status, kind, message string
	err = d.object(func(key string) error {
		var err error
		switch key {
		case "warnings":
			warnings, err = d.strs()
		case "status":
			status, err = d.str()
		case "errorType":
			kind, err = d.str()
		case "error", "message": // Prometheus's, or the API server's Status when its proxy fails
			message, err = d.str()
		case "data":
			err = d.object(func(key string) error {
				switch key {
				case "resultType":
					resultType, err := d.str()
					if err == nil && resultType != "vector" {
						err = fmt.Errorf("the query returned a %s, not a vector", resultType)
					}
					return err
				case "result":
					return d.samples(each)
				}
				return d.skip()
			})
		default:
			err = d.skip()
		}
		return err
	})
	switch {
	case err != nil:
		return nil, err
	case status != "success":
		return nil, &apiError{kind: kind, message: message}
	}
	return warnings, nil
}

type vectorDecoder struct {
	r        *bufio.Reader
	buf      []byte            // the last string read, unescaped
	interned map[string]string // label names and values seen so far
}

func (d *vectorDecoder) samples(each func(model.Metric, float64)) error {
	metric := model.Metric{}
	var value float64
	return d.array(func() error {
		clear(metric)
		err := d.object(func(key string) error {
			switch key {
			case "metric":
				return d.object(func(name string) error {
					v, err := d.bytes()
					if err != nil {
						return err
					}
					metric[model.LabelName(name)] = model.LabelValue(d.intern(v))
					return nil
				})
			case "value":
				var err error
				value, err = d.pair()
				return err
			}
			return d.skip()
		})
		if err == nil {
			each(metric, value)
		}
		return err
	})
}

// pair reads [time, "value"] and returns the value ("NaN" and "+Inf" included).
func (d *vectorDecoder) pair() (float64, error) {
	var value float64
	i := 0
	err := d.array(func() error {
		i++
		if i != 2 {
			return d.skip()
		}
		s, err := d.bytes()
		if err != nil {
			return err
		}
		value, err = strconv.ParseFloat(string(s), 64)
		return err
	})
	if err == nil && i != 2 {
		err = errors.New("a sample's value is not [time, \"value\"]")
	}
	return value, err
}

func (d *vectorDecoder) intern(b []byte) string {
	if s, ok := d.interned[string(b)]; ok {
		return s
	}
	s := string(b)
	d.interned[s] = s
	return s
}

// next returns the next byte that is not white space.
func (d *vectorDecoder) next() (byte, error) {
	for {
		c, err := d.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		if c != ' ' && c != '\n' && c != '\r' && c != '\t' {
			return c, nil
		}
	}
}

func (d *vectorDecoder) expect(want byte) error {
	c, err := d.next()
	if err == nil && c != want {
		err = fmt.Errorf("invalid JSON: want %q, found %q", want, c)
	}
	return err
}

// object reads {"key": value, ...}: field must read each value.
func (d *vectorDecoder) object(field func(key string) error) error {
	if err := d.expect('{'); err != nil {
		return err
	}
	return d.list('}', func() error {
		key, err := d.bytes()
		if err != nil {
			return err
		}
		name := d.intern(key) // field reads strings into d.buf: the key must outlive it
		if err := d.expect(':'); err != nil {
			return err
		}
		return field(name)
	})
}

// array reads [value, ...]: element must read each value.
func (d *vectorDecoder) array(element func() error) error {
	if err := d.expect('['); err != nil {
		return err
	}
	return d.list(']', element)
}

// list reads comma-separated items up to end, the opening bracket already read.
func (d *vectorDecoder) list(end byte, item func() error) error {
	c, err := d.next()
	if err != nil || c == end {
		return err
	}
	if err := d.r.UnreadByte(); err != nil {
		return err
	}
	for {
		if err := item(); err != nil {
			return err
		}
		c, err := d.next()
		switch {
		case err != nil:
			return err
		case c == end:
			return nil
		case c != ',':
			return fmt.Errorf("invalid JSON: want ',' or %q, found %q", end, c)
		}
	}
}

// strs reads an array of strings; null is none.
func (d *vectorDecoder) strs() ([]string, error) {
	c, err := d.next()
	if err == nil {
		err = d.r.UnreadByte()
	}
	if err != nil || c != '[' {
		return nil, cmp.Or(err, d.skip())
	}
	var out []string
	err = d.array(func() error {
		c, err := d.next()
		if err == nil {
			err = d.r.UnreadByte()
		}
		if err != nil || c != '"' {
			return cmp.Or(err, d.skip()) // the APIs' warnings are text; anything else says nothing
		}
		s, err := d.str()
		out = append(out, s)
		return err
	})
	return out, err
}

func (d *vectorDecoder) str() (string, error) {
	b, err := d.bytes()
	return string(b), err
}

// bytes reads a string and returns it unescaped, valid until the next read.
func (d *vectorDecoder) bytes() ([]byte, error) {
	if err := d.expect('"'); err != nil {
		return nil, err
	}
	d.buf = append(d.buf[:0], '"') // kept, for encoding/json below
	for {
		chunk, err := d.r.ReadSlice('"')
		if err != nil && err != bufio.ErrBufferFull {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		d.buf = append(d.buf, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		// The quote ends the string unless an odd number of backslashes precede it.
		backslashes := 0
		for i := len(d.buf) - 2; i >= 0 && d.buf[i] == '\\'; i-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			break
		}
	}
	raw := d.buf[1 : len(d.buf)-1]
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return raw, nil
	}
	// Escapes, or bytes that are not UTF-8: rare, and read by encoding/json's own rules.
	var s string
	if err := json.Unmarshal(d.buf, &s); err != nil {
		return nil, fmt.Errorf("invalid JSON string %q: %v", raw, err)
	}
	d.buf = append(d.buf[:0], s...)
	return d.buf, nil
}

// skip reads one value of any kind and drops it.
func (d *vectorDecoder) skip() error {
	c, err := d.next()
	if err != nil {
		return err
	}
	if err := d.r.UnreadByte(); err != nil {
		return err
	}
	switch c {
	case '{':
		return d.object(func(string) error { return d.skip() })
	case '[':
		return d.array(d.skip)
	case '"':
		_, err := d.bytes()
		return err
	}
	// A number, true, false or null: up to the next delimiter.
	for {
		c, err := d.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\n' || c == '\r' || c == '\t' {
			return d.r.UnreadByte()
		}
	}
}
