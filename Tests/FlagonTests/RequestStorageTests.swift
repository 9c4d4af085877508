// Values middleware attach to a request: set, read back by key type, replaced, removed.

import Flagon
import Testing

@Suite("Request storage")
struct RequestStorageTests {
    enum NameKey: RequestStorageKey { typealias Value = String }
    enum CountKey: RequestStorageKey { typealias Value = Int }
    enum UnusedKey: RequestStorageKey { typealias Value = Int }

    @Test("each key type holds its own value; a key never set reads nil")
    func keysAreIndependent() {
        var storage = RequestStorage()
        storage[NameKey.self] = "alice"
        storage[CountKey.self] = 3
        #expect(storage[NameKey.self] == "alice")
        #expect(storage[CountKey.self] == 3)
        #expect(storage[UnusedKey.self] == nil)
    }

    @Test("setting a key again replaces its value; nil removes it and leaves the others")
    func replaceAndRemove() {
        var storage = RequestStorage()
        storage[NameKey.self] = "alice"
        storage[CountKey.self] = 3
        storage[NameKey.self] = "bob"
        #expect(storage[NameKey.self] == "bob")
        storage[NameKey.self] = nil
        #expect(storage[NameKey.self] == nil)
        #expect(storage[CountKey.self] == 3)
        storage[UnusedKey.self] = nil
        #expect(storage[CountKey.self] == 3)
    }
}
