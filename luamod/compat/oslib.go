package compat

import (
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// localLocation is the zone of os.date/os.time without '!' (a variable so
// that tests can pin it).
var localLocation = func() *time.Location { return time.Local }

func (st *state) openOS(L *lua.LState, g *lua.LTable) {
	t := libTable(g, "os")
	if t == nil {
		return
	}
	st.osExit = t.RawGetString("exit")
	setFuncs(L, t, map[string]lua.LGFunction{
		"date":     osDate,
		"time":     osTime,
		"difftime": osDifftime,
	})
	if _, ok := st.osExit.(*lua.LFunction); ok {
		t.RawSetString("exit", L.NewFunction(st.osExitFn))
	}
}

// maxTimeT is about the largest time whose year still fits a C int; beyond
// it localtime fails and os.date returns nil.
const maxTimeT = 67767976233316800

// osDate is os.date([format [, time]]) with a full C-locale strftime.
func osDate(L *lua.LState) int {
	format := optString(L, 1, "%c")
	var t time.Time
	if L.Get(2) == lua.LNil {
		t = time.Now()
	} else {
		sec := toInt(checkNumber(L, 2)) // (time_t) cast: truncation
		if sec > maxTimeT || sec < -maxTimeT {
			L.Push(lua.LNil)
			return 1
		}
		t = time.Unix(sec, 0)
	}
	utc := false
	if strings.HasPrefix(format, "!") {
		utc = true
		format = format[1:]
		t = t.UTC()
	} else {
		t = t.In(localLocation())
	}
	if format == "*t" {
		tb := L.CreateTable(0, 9)
		tb.RawSetString("year", lua.LNumber(t.Year()))
		tb.RawSetString("month", lua.LNumber(t.Month()))
		tb.RawSetString("day", lua.LNumber(t.Day()))
		tb.RawSetString("hour", lua.LNumber(t.Hour()))
		tb.RawSetString("min", lua.LNumber(t.Minute()))
		tb.RawSetString("sec", lua.LNumber(t.Second()))
		tb.RawSetString("wday", lua.LNumber(t.Weekday()+1))
		tb.RawSetString("yday", lua.LNumber(t.YearDay()))
		tb.RawSetString("isdst", lua.LBool(!utc && t.IsDST()))
		L.Push(tb)
		return 1
	}
	var stack [128]byte
	L.Push(lua.LString(strftime(stack[:0], t, format, utc)))
	return 1
}

var (
	weekdayNames = [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	monthNames   = [12]string{"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"}
)

// appendNum appends n zero-padded (pad '0') or space-padded (pad ' ') to
// width digits.
func appendNum(dst []byte, n, width int, pad byte) []byte {
	if n < 0 {
		dst = append(dst, '-')
		n = -n
		width--
	}
	var tmp [20]byte
	d := strconv.AppendInt(tmp[:0], int64(n), 10)
	for i := len(d); i < width; i++ {
		dst = append(dst, pad)
	}
	return append(dst, d...)
}

// isoWeek returns the ISO 8601 week-based year and week number.
func isoWeek(t time.Time) (int, int) { return t.ISOWeek() }

// strftime formats t like C's strftime in the C locale. Conversions it does
// not know are copied literally (C Lua 5.2 would raise an error instead).
func strftime(dst []byte, t time.Time, f string, utc bool) []byte {
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' || i+1 >= len(f) {
			dst = append(dst, c)
			continue
		}
		start := i
		i++
		c = f[i]
		// C99 E and O modifiers select alternative forms; the C locale has none.
		if c == 'E' || c == 'O' {
			valid := "cCxXyY"
			if c == 'O' {
				valid = "deHImMSuUVwWy"
			}
			if i+1 < len(f) && strings.IndexByte(valid, f[i+1]) >= 0 {
				i++
				c = f[i]
			} else {
				dst = append(dst, f[start:i+1]...)
				continue
			}
		}
		switch c {
		case 'a':
			dst = append(dst, weekdayNames[t.Weekday()][:3]...)
		case 'A':
			dst = append(dst, weekdayNames[t.Weekday()]...)
		case 'b', 'h':
			dst = append(dst, monthNames[t.Month()-1][:3]...)
		case 'B':
			dst = append(dst, monthNames[t.Month()-1]...)
		case 'c':
			dst = strftime(dst, t, "%a %b %e %H:%M:%S %Y", utc)
		case 'C':
			dst = appendNum(dst, floorDiv(t.Year(), 100), 2, '0')
		case 'd':
			dst = appendNum(dst, t.Day(), 2, '0')
		case 'D', 'x':
			dst = strftime(dst, t, "%m/%d/%y", utc)
		case 'e':
			dst = appendNum(dst, t.Day(), 2, ' ')
		case 'F':
			dst = strftime(dst, t, "%Y-%m-%d", utc)
		case 'g':
			y, _ := isoWeek(t)
			dst = appendNum(dst, floorMod(y, 100), 2, '0')
		case 'G':
			y, _ := isoWeek(t)
			dst = appendNum(dst, y, 1, '0')
		case 'H':
			dst = appendNum(dst, t.Hour(), 2, '0')
		case 'I':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			dst = appendNum(dst, h, 2, '0')
		case 'j':
			dst = appendNum(dst, t.YearDay(), 3, '0')
		case 'm':
			dst = appendNum(dst, int(t.Month()), 2, '0')
		case 'M':
			dst = appendNum(dst, t.Minute(), 2, '0')
		case 'n':
			dst = append(dst, '\n')
		case 'p':
			if t.Hour() < 12 {
				dst = append(dst, "AM"...)
			} else {
				dst = append(dst, "PM"...)
			}
		case 'r':
			dst = strftime(dst, t, "%I:%M:%S %p", utc)
		case 'R':
			dst = strftime(dst, t, "%H:%M", utc)
		case 'S':
			dst = appendNum(dst, t.Second(), 2, '0')
		case 't':
			dst = append(dst, '\t')
		case 'T', 'X':
			dst = strftime(dst, t, "%H:%M:%S", utc)
		case 'u':
			wd := int(t.Weekday())
			if wd == 0 {
				wd = 7
			}
			dst = appendNum(dst, wd, 1, '0')
		case 'U':
			dst = appendNum(dst, (t.YearDay()-1+7-int(t.Weekday()))/7, 2, '0')
		case 'V':
			_, w := isoWeek(t)
			dst = appendNum(dst, w, 2, '0')
		case 'w':
			dst = appendNum(dst, int(t.Weekday()), 1, '0')
		case 'W':
			dst = appendNum(dst, (t.YearDay()-1+7-(int(t.Weekday())+6)%7)/7, 2, '0')
		case 'y':
			dst = appendNum(dst, floorMod(t.Year(), 100), 2, '0')
		case 'Y':
			dst = appendNum(dst, t.Year(), 1, '0')
		case 'z':
			_, off := t.Zone()
			sign := byte('+')
			if off < 0 {
				sign = '-'
				off = -off
			}
			dst = append(dst, sign)
			dst = appendNum(dst, off/3600, 2, '0')
			dst = appendNum(dst, off/60%60, 2, '0')
		case 'Z':
			if utc {
				dst = append(dst, "GMT"...) // glibc's name for gmtime's zone
			} else {
				name, _ := t.Zone()
				dst = append(dst, name...)
			}
		case '%':
			dst = append(dst, '%')
		default:
			dst = append(dst, f[start:i+1]...)
		}
	}
	return dst
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int) int { return a - floorDiv(a, b)*b }

// dateField reads a date-table field like 5.2's getfield: numbers and
// numeric strings are truncated to a C int; a missing or non-numeric field
// takes the default, or is an error when there is none (d < 0).
func dateField(L *lua.LState, t *lua.LTable, key string, d int) int {
	f, ok := toNumber(L.GetField(t, key))
	if !ok {
		if d < 0 {
			L.RaiseError("field '%s' missing in date table", key)
		}
		return d
	}
	return int(int32(toInt(f)))
}

// osTime is os.time([t]). Out-of-range fields are normalised as mktime
// does (time.Date does the same arithmetic), and an explicit isdst that
// disagrees with the zone shifts the result by the DST difference as glibc's
// mktime does.
func osTime(L *lua.LState) int {
	if L.Get(1) == lua.LNil {
		L.Push(lua.LNumber(time.Now().Unix()))
		return 1
	}
	tb := L.CheckTable(1)
	sec := dateField(L, tb, "sec", 0)
	min := dateField(L, tb, "min", 0)
	hour := dateField(L, tb, "hour", 12)
	day := dateField(L, tb, "day", -1)
	month := dateField(L, tb, "month", -1)
	year := dateField(L, tb, "year", -1)
	isdst := -1
	if v := L.GetField(tb, "isdst"); v != lua.LNil {
		isdst = 0
		if lua.LVAsBool(v) {
			isdst = 1
		}
	}
	t := time.Date(year, time.Month(month), day, hour, min, sec, 0, localLocation())
	if isdst >= 0 && t.IsDST() != (isdst == 1) {
		t = shiftDST(t, isdst == 1)
	}
	res := t.Unix()
	if res == -1 { // mktime's error value; 5.2 returns nil for it
		L.Push(lua.LNil)
		return 1
	}
	L.Push(lua.LNumber(res))
	return 1
}

// shiftDST reinterprets t's wall clock with the UTC offset that the zone
// uses when its DST flag is want, looking for such an offset within a year.
// If the zone never has that flag, t is returned unchanged.
func shiftDST(t time.Time, want bool) time.Time {
	_, cur := t.Zone()
	for m := 1; m <= 12; m++ {
		for _, d := range [2]int{-m, m} {
			u := t.AddDate(0, d, 0)
			if u.IsDST() == want {
				_, other := u.Zone()
				return t.Add(time.Duration(cur-other) * time.Second)
			}
		}
	}
	return t
}

// osDifftime is 5.2's os.difftime(t2 [, t1]); both are time_t, so truncated.
func osDifftime(L *lua.LState) int {
	a := toInt(checkNumber(L, 1))
	b := toInt(optNumber(L, 2, 0))
	L.Push(lua.LNumber(float64(a) - float64(b)))
	return 1
}

// osExitFn accepts 5.2's boolean status (true = success) before calling
// gopher-lua's os.exit.
func (st *state) osExitFn(L *lua.LState) int {
	code := int64(0)
	switch v := L.Get(1).(type) {
	case lua.LBool:
		if !v {
			code = 1
		}
	case *lua.LNilType:
	default:
		code = checkInt(L, 1)
	}
	L.Push(st.osExit)
	L.Push(lua.LNumber(code))
	L.Call(1, 0)
	return 0
}
