// RFC 3339 UTC formatting of API timestamps and log lines.

import Flagon
import Testing

@Suite("RFC 3339")
struct RFC3339Tests {
    @Test("seconds since the epoch render in UTC with Z, zero-padded")
    func format() {
        #expect(RFC3339.format(seconds: 0) == "1970-01-01T00:00:00Z")
        #expect(RFC3339.format(seconds: 1_795_590_000) == "2026-11-25T07:00:00Z")
        #expect(RFC3339.format(seconds: 1_795_590_000, milliseconds: 7) == "2026-11-25T07:00:00.007Z")
        #expect(RFC3339.format(seconds: 1_795_590_000, milliseconds: 42) == "2026-11-25T07:00:00.042Z")
        #expect(RFC3339.format(seconds: 1_795_590_000, milliseconds: 999) == "2026-11-25T07:00:00.999Z")
    }

    @Test("years outside 1000...9999 are written unpadded, as before")
    func unusualYears() {
        #expect(RFC3339.format(seconds: -62_135_596_800) == "1-01-01T00:00:00Z")
        #expect(RFC3339.format(seconds: 253_402_300_800) == "10000-01-01T00:00:00Z")
    }

    @Test("now is today's date in the same shape")
    func now() {
        let text = RFC3339.now()
        #expect(text.count == 20)
        #expect(text.hasSuffix("Z"))
        #expect(text.dropFirst(10).first == "T")
    }
}
