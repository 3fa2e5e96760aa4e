#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a secret from a file (`WARREN_*_FILE`), without Foundation.
public enum SecretFile {
    /// Secrets are short; a larger file is a mistake (a wrong path), not a secret.
    static let maximumSize = 64 * 1024

    /// The file's contents as UTF-8 text; throws `SecretFileError` (with `strerror`'s text).
    @Sendable public static func read(_ path: String) throws -> String {
        try read(path, maximumSize: maximumSize)
    }

    /// The file's contents as UTF-8 text, refusing one larger than `maximumSize` bytes (the
    /// `warren` executable reads its configuration file so too).
    public static func read(_ path: String, maximumSize: Int) throws -> String {
        guard let file = fopen(path, "rb") else { throw SecretFileError(description: String(cString: strerror(errno))) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count > 0 { bytes += chunk[0..<count] }
            if bytes.count > maximumSize { throw SecretFileError(description: "larger than \(maximumSize) bytes") }
            if count < chunk.count {
                if ferror(file) != 0 { throw SecretFileError(description: String(cString: strerror(errno))) }
                break
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Why a secret file could not be read.
public struct SecretFileError: Error, CustomStringConvertible, Sendable {
    /// Why, e.g. `No such file or directory` or `larger than <n> bytes`; never the file's content.
    public var description: String
}
