package smtp

import "bytes"

// DataReader un-stuffs SMTP message data incrementally (RFC 5321 4.5.2).
// Lines end in CRLF; bare CR and bare LF are ordinary data bytes. A line
// consisting of "." alone ends the data; on every other line a leading "."
// is removed. Only CRLF "." CRLF (or "." CRLF as the first line) ends the
// data, so "\n.\n" and "\n.\r\n" cannot smuggle an end of data past a relay
// that reads the standard way. The data kept is everything before the
// terminating line without the line end that precedes it.
type DataReader struct {
	// Limit is the maximum number of data bytes kept (negative: none).
	// Beyond it the reader discards through the terminator and sets TooBig.
	Limit  int64
	TooBig bool
	// Discard drops all data (nothing is kept) while still finding the end.
	Discard bool
	out     []byte
	count   int64
	state   uint8
}

const (
	dsLineStart uint8 = iota
	dsDot             // "." at line start
	dsDotCR           // ".\r" at line start
	dsMid             // inside a line
	dsCR              // "\r" inside a line
)

// NewDataReader returns a reader with the given limit (negative: none).
func NewDataReader(limit int64) *DataReader { return &DataReader{Limit: limit} }

// Reset prepares the reader for a new message, keeping its buffer.
func (d *DataReader) Reset(limit int64) {
	d.Limit, d.TooBig, d.Discard, d.count, d.state = limit, false, false, 0, dsLineStart
	d.out = d.out[:0]
}

// Count is the number of un-stuffed data bytes seen so far (line ends
// included), whether kept or not.
func (d *DataReader) Count() int64 { return d.count }

func (d *DataReader) emit(b []byte) {
	d.count += int64(len(b))
	if d.TooBig || d.Discard {
		return
	}
	if d.Limit >= 0 && d.count > d.Limit {
		d.TooBig = true
		d.out = nil
		return
	}
	d.out = append(d.out, b...)
}

var crlf = []byte("\r\n")
var cr = []byte("\r")

// Feed consumes input up to and including the terminating line. It returns
// the number of bytes consumed and whether the terminator was found; bytes
// after it are not consumed.
func (d *DataReader) Feed(in []byte) (int, bool) {
	i := 0
	for i < len(in) {
		switch d.state {
		case dsLineStart:
			if in[i] == '.' {
				d.state = dsDot
				i++
				continue
			}
			d.state = dsMid
		case dsDot:
			if in[i] == '\r' {
				d.state = dsDotCR
				i++
				continue
			}
			d.state = dsMid // the stuffing dot is dropped
		case dsDotCR:
			if in[i] == '\n' {
				d.state = dsLineStart
				return i + 1, true
			}
			d.emit(cr)
			d.state = dsMid
		case dsMid:
			j := bytes.IndexByte(in[i:], '\r')
			if j < 0 {
				d.emit(in[i:])
				return len(in), false
			}
			if j > 0 {
				d.emit(in[i : i+j])
			}
			i += j + 1
			d.state = dsCR
		case dsCR:
			if in[i] == '\n' {
				d.emit(crlf)
				d.state = dsLineStart
				i++
				continue
			}
			d.emit(cr)
			d.state = dsMid
		}
	}
	return i, false
}

// Data returns the message once Feed reported the end: the kept bytes
// without the final line end (nil when TooBig or Discard).
func (d *DataReader) Data() []byte {
	if d.TooBig || d.Discard {
		return nil
	}
	out := d.out
	if n := len(out); n >= 2 && out[n-2] == '\r' && out[n-1] == '\n' {
		out = out[:n-2]
	}
	return out
}

// release drops a large buffer so that an idle session does not keep it.
func (d *DataReader) release() {
	if cap(d.out) > 64<<10 {
		d.out = nil
	} else {
		d.out = d.out[:0]
	}
}

// DataSender applies the client-side transparency transform incrementally:
// every CR is removed, every LF becomes CRLF, a "." at the start of any line
// (including the first) is doubled; Finish adds the terminator, preceded by
// CRLF unless the transformed text is empty or already ends with CRLF.
type DataSender struct {
	midLine bool // the last byte written was not a line end
	any     bool // something was written
}

// Transform appends the transformed src to dst.
func (s *DataSender) Transform(dst, src []byte) []byte {
	for len(src) > 0 {
		if !s.midLine && src[0] == '.' {
			dst = append(dst, '.')
		}
		j := bytes.IndexAny(src, "\r\n")
		if j < 0 {
			j = len(src)
		}
		if j > 0 {
			dst = append(dst, src[:j]...)
			s.midLine, s.any = true, true
		}
		if j == len(src) {
			break
		}
		if src[j] == '\n' {
			dst = append(dst, '\r', '\n')
			s.midLine, s.any = false, true
		}
		src = src[j+1:]
	}
	return dst
}

// Finish appends the end-of-data sequence.
func (s *DataSender) Finish(dst []byte) []byte {
	if s.any && s.midLine {
		dst = append(dst, '\r', '\n')
	}
	return append(dst, '.', '\r', '\n')
}
