import Glibc

/// A fresh directory under /tmp for one test's files (without Foundation, like the executable).
struct TemporaryFiles {
    let directory: String

    init() {
        var template = Array("/tmp/warren-cli-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { fatalError("mkdtemp: \(String(cString: strerror(errno)))") }
        directory = String(cString: made)
    }

    /// Writes `text` to `name` in the directory and returns its path.
    func write(_ name: String, _ text: String) -> String {
        let path = directory + "/" + name
        guard let file = fopen(path, "wb") else { fatalError("fopen \(path): \(String(cString: strerror(errno)))") }
        fputs(text, file)
        fclose(file)
        return path
    }
}
