/* Generates the glibc reference files used by the compat tests:
 *   gcc -O1 -o /tmp/glibc_ref glibc_ref.c -lm && /tmp/glibc_ref
 * writes format14g_glibc.txt, printf_glibc.txt (run from testdata/).
 * TZ=America/New_York is used for strftime_glibc.txt (see strftime section). */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <stdlib.h>

static uint64_t s = 0x2545F4914F6CDD1DULL;
static uint64_t next(void) { /* splitmix64 */
  uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
static double frombits(uint64_t b) { double d; memcpy(&d, &b, 8); return d; }
static uint64_t tobits(double d) { uint64_t b; memcpy(&b, &d, 8); return b; }

static const double edge[] = {
  0.0, -0.0, 1, -1, 0.1, 0.5, 1.5, 2.5, 1e14, 1e14 - 1, 1e15, 1e16, 9007199254740992.0,
  9007199254740993.0, 123456789012345.0, 123456789012355.0, 1700000000.5, 1.0/3, 2.0/3,
  1e-4, 1e-5, 0.00012345678901234, 0.000123456789012345, 1e300, 1e-300, 4.9406564584124654e-324,
  2.2250738585072014e-308, 1.7976931348623157e308, 100000000000000.5, 99999999999999.5,
  0.30000000000000004, 3.14159265358979, 2.718281828459045, 1e21, 1e22, 12345678901234567890.0,
  -123.456, 65535, 4294967295.0, 4294967296.0, -2147483648.0, 0.1 + 0.2, 1e-7, 123e-20,
  99999999999999.99, 9.99999999999995, 9.999999999999949, 0.000099999999999999995,
};

int main(void) {
  FILE *f = fopen("format14g_glibc.txt", "w");
  for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++)
    fprintf(f, "%016llx %.14g\n", (unsigned long long)tobits(edge[i]), edge[i]);
  for (int i = 0; i < 3000; i++) {
    double d;
    uint64_t r = next();
    switch (i % 6) {
    case 0: d = frombits(r); break;                                  /* any bits */
    case 1: d = (double)(int64_t)(r >> (r & 63)) * ((r & 64) ? -1 : 1); break; /* integers */
    case 2: d = (double)(r % 100000000) / 1000.0; break;              /* short decimals */
    case 3: d = (double)(r % 1000000000000000ULL) * 10.0 + 5.0; break; /* 15/16-digit ties */
    case 4: d = frombits(r) ; if (d != d) continue; d = d / 1e200; break;
    default: d = (double)(r % 2000000) / 8.0 * ((r >> 40) % 2 ? 1e-9 : 1e9); break;
    }
    if (d != d) continue; /* NaN payload signs are tested separately */
    fprintf(f, "%016llx %.14g\n", (unsigned long long)tobits(d), d);
  }
  fclose(f);

  static const char *ffmts[] = {"%e", "%.0e", "%#.0e", "%+.3e", "%12.4E", "%-12.2e|", "%f", "%.0f",
    "%#.0f", "%5.2f", "%010.3f", "%+f", "% f", "%-10f|", "%.20f", "%g", "%.0g", "%#g", "%.3g", "%10.3G",
    "%-+10.2g|", "%#.3g", "%.17g", "%.30g", "%a", "%A", "%.2a", "%015a", "%+a", "%010g", "%010e"};
  static const double fvals[] = {0.0, -0.0, 1, -1, 0.5, 2.5, 3.14159, 12345.678, 1e-5, 123456789.0,
    1e100, -1e-100, 1.0/3, 0.000123456, 100000, 1e6, 999999.5, 0.0001, 9.9999999, 1e15, 255.0};
  f = fopen("printf_glibc.txt", "w");
  for (size_t i = 0; i < sizeof ffmts / sizeof ffmts[0]; i++)
    for (size_t j = 0; j < sizeof fvals / sizeof fvals[0]; j++) {
      char buf[512];
      snprintf(buf, sizeof buf, ffmts[i], fvals[j]);
      fprintf(f, "F\t%s\t%016llx\t%s\n", ffmts[i], (unsigned long long)tobits(fvals[j]), buf);
    }
  static const char *ifmts[] = {"%d", "%5d", "%-5d|", "%05d", "%+d", "% d", "%.3d", "%.0d", "%08.3d",
    "%+05d", "%x", "%X", "%#x", "%#X", "%08x", "%#08x", "%o", "%#o", "%#.3o", "%u", "%.0x", "%-#8x|", "%i", "%3c"};
  static const long long ivals[] = {0, 1, -1, 42, -42, 255, 65535, 123456789, -2147483648LL, 9007199254740992LL, 65};
  for (size_t i = 0; i < sizeof ifmts / sizeof ifmts[0]; i++)
    for (size_t j = 0; j < sizeof ivals / sizeof ivals[0]; j++) {
      char buf[512];
      const char *fm = ifmts[i];
      size_t n = strlen(fm);
      char conv = fm[n - 1] == '|' ? fm[n - 2] : fm[n - 1];
      if (conv == 'c') { if (ivals[j] < 32 || ivals[j] > 126) continue; snprintf(buf, sizeof buf, fm, (int)ivals[j]); }
      else if (conv == 'd' || conv == 'i') {
        char f2[32]; snprintf(f2, sizeof f2, "%.*sll%s", (int)(strchr(fm, conv) - fm), fm, strchr(fm, conv));
        snprintf(buf, sizeof buf, f2, ivals[j]);
      } else {
        if (ivals[j] < 0) continue;
        char f2[32]; snprintf(f2, sizeof f2, "%.*sll%s", (int)(strchr(fm, conv) - fm), fm, strchr(fm, conv));
        snprintf(buf, sizeof buf, f2, (unsigned long long)ivals[j]);
      }
      fprintf(f, "I\t%s\t%lld\t%s\n", fm, ivals[j], buf);
    }
  fclose(f);

  /* strftime: run with TZ=America/New_York. */
  const char *fmt = "%a|%A|%b|%B|%c|%C|%d|%D|%e|%F|%g|%G|%h|%H|%I|%j|%m|%M|%p|%r|%R|%S|%T|%u|%U|%V|%w|%W|%x|%X|%y|%Y|%z|%Z|%%|%Ec|%Oy";
  long ts[] = {0, 1700000000, 946684800, 1104537600, 1230681600, 1262217600, -34560000, 1719835200,
               4102444800L, 1609459199, 1293753600, 1199145600, 1356912000, 1688205600, 1710054000};
  f = fopen("strftime_glibc.txt", "w");
  for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
    char buf[512];
    time_t t = ts[i];
    strftime(buf, sizeof buf, fmt, gmtime(&t));
    fprintf(f, "!\t%ld\t%s\n", ts[i], buf);
    strftime(buf, sizeof buf, fmt, localtime(&t));
    fprintf(f, "L\t%ld\t%s\n", ts[i], buf);
  }
  fclose(f);
  return 0;
}
