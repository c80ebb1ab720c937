package compat

import (
	"testing"

	lua "github.com/yuin/gopher-lua"
)

func benchChunk(b *testing.B, withCompat bool, setup, body string) {
	L := lua.NewState(lua.Options{RegistrySize: 256, RegistryMaxSize: 1 << 20, RegistryGrowStep: 1024})
	defer L.Close()
	if withCompat {
		Open(L, Options{})
	}
	if err := L.DoString(setup); err != nil {
		b.Fatal(err)
	}
	fn, err := L.LoadString(body)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		L.Push(fn)
		if err := L.PCall(0, 0, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// Each iteration converts 100 numbers.
const tostringBody = `local tostring = tostring for i = 1, 100 do local s = tostring(i * 7) end`
const tostringFracBody = `local tostring = tostring for i = 1, 100 do local s = tostring(i / 7) end`

func BenchmarkTostringInt(b *testing.B)            { benchChunk(b, true, "", tostringBody) }
func BenchmarkTostringIntGopher(b *testing.B)      { benchChunk(b, false, "", tostringBody) }
func BenchmarkTostringFraction(b *testing.B)       { benchChunk(b, true, "", tostringFracBody) }
func BenchmarkTostringFractionGopher(b *testing.B) { benchChunk(b, false, "", tostringFracBody) }

const concatSetup = `lines = {} for i = 1, 1000 do lines[i] = "Received: from host" .. i .. " by mx" end`
const concatBody = `local s = table.concat(lines, "\r\n")`

func BenchmarkConcat1000(b *testing.B)       { benchChunk(b, true, concatSetup, concatBody) }
func BenchmarkConcat1000Gopher(b *testing.B) { benchChunk(b, false, concatSetup, concatBody) }

const formatBody = `local f = string.format for i = 1, 100 do local s = f("%s: %d %5.2f", "x", i, i / 3) end`

func BenchmarkFormat(b *testing.B)       { benchChunk(b, true, "", formatBody) }
func BenchmarkFormatGopher(b *testing.B) { benchChunk(b, false, "", formatBody) }

func BenchmarkFormatNumber(b *testing.B) {
	vals := []float64{250, 1700000000, 1.0 / 3, 12345.678, 1e15}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for _, v := range vals {
			_ = FormatNumber(v)
		}
	}
}
