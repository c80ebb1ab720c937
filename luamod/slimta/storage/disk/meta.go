package disk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/slimta-lua/slimta-lua/luamod/slimta/storage/internal/lstore"
)

// Stored meta record (one bbolt value per message):
//
//	version  byte   (metaVersion)
//	count    uvarint
//	count × { keylen uvarint, key, type byte, value }
//	  type 's': len uvarint, bytes
//	  type 'n': 8 bytes, IEEE-754 bits, big endian
//	  type 't' / 'f': boolean true / false, no value bytes
//
// Keys are written sorted; the decoder accepts any order but rejects
// duplicates, unknown types, truncation and trailing bytes, so a damaged
// record is reported instead of loading as a different message.

const metaVersion = 1

var errMeta = errors.New("corrupt meta record")

// EncodeMeta serialises m deterministically.
func EncodeMeta(m lstore.Meta) ([]byte, error) {
	keys := m.Keys()
	buf := make([]byte, 0, 64+32*len(keys))
	buf = append(buf, metaVersion)
	buf = binary.AppendUvarint(buf, uint64(len(keys)))
	for _, k := range keys {
		buf = binary.AppendUvarint(buf, uint64(len(k)))
		buf = append(buf, k...)
		switch v := m[k].(type) {
		case string:
			buf = append(buf, 's')
			buf = binary.AppendUvarint(buf, uint64(len(v)))
			buf = append(buf, v...)
		case float64:
			buf = append(buf, 'n')
			buf = binary.BigEndian.AppendUint64(buf, math.Float64bits(v))
		case bool:
			if v {
				buf = append(buf, 't')
			} else {
				buf = append(buf, 'f')
			}
		default:
			return nil, fmt.Errorf("meta value for %q has unsupported type %T", k, v)
		}
	}
	return buf, nil
}

// DecodeMeta parses a record written by EncodeMeta.
func DecodeMeta(b []byte) (lstore.Meta, error) {
	if len(b) == 0 || b[0] != metaVersion {
		return nil, fmt.Errorf("%w: bad version", errMeta)
	}
	p := b[1:]
	count, n := binary.Uvarint(p)
	if n <= 0 {
		return nil, fmt.Errorf("%w: bad count", errMeta)
	}
	p = p[n:]
	// Every entry takes at least 2 bytes: a bound that stops a forged
	// count from allocating a huge map.
	if count > uint64(len(p)/2) {
		return nil, fmt.Errorf("%w: count %d too large", errMeta, count)
	}
	m := make(lstore.Meta, count)
	readBytes := func() ([]byte, bool) {
		l, n := binary.Uvarint(p)
		if n <= 0 || l > uint64(len(p)-n) {
			return nil, false
		}
		s := p[n : n+int(l)]
		p = p[n+int(l):]
		return s, true
	}
	for i := uint64(0); i < count; i++ {
		k, ok := readBytes()
		if !ok || len(p) == 0 {
			return nil, fmt.Errorf("%w: truncated key", errMeta)
		}
		key := string(k)
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("%w: duplicate key %q", errMeta, key)
		}
		typ := p[0]
		p = p[1:]
		switch typ {
		case 's':
			v, ok := readBytes()
			if !ok {
				return nil, fmt.Errorf("%w: truncated value of %q", errMeta, key)
			}
			m[key] = string(v)
		case 'n':
			if len(p) < 8 {
				return nil, fmt.Errorf("%w: truncated number %q", errMeta, key)
			}
			m[key] = math.Float64frombits(binary.BigEndian.Uint64(p))
			p = p[8:]
		case 't':
			m[key] = true
		case 'f':
			m[key] = false
		default:
			return nil, fmt.Errorf("%w: unknown type %q", errMeta, typ)
		}
	}
	if len(p) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errMeta, len(p))
	}
	return m, nil
}
