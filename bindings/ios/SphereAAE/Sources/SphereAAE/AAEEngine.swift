// AAEEngine.swift - the Swift API over the engine section of sphere_aae.h:
//
//   let engine = try AAEEngine()
//   try await engine.reload(modelPath: bundleURL.appendingPathComponent(record.modelPath!).path,
//                           modelLib: record.modelLib)
//   for try await chunk in engine.chat.completions.create(messages: [.user("Hi")]) {
//       print(chunk.choices.first?.delta.content ?? "", terminator: "")
//   }
//
// Calls run one at a time on the engine's serial queue (the C engine allows one
// call at a time). abort() may be called from any thread; cancelling the task that
// iterates a stream aborts its completion too. Text crosses as UTF-8 C strings.
import CSphereAAE
import Foundation

public struct AAEError: Error, CustomStringConvertible, Sendable {
    /// The aae_status number of sphere_aae.h (AAE_ERR_*).
    public let status: UInt32
    public let message: String
    public var description: String { message }
}

/// Engine settings (aae_engine_params); 0 = the model's chat config / one thread per CPU.
public struct EngineParams: Sendable {
    public var threads: Int32 = 0
    public var contextWindowSize: Int32 = 0
    public var prefillChunkSize: Int32 = 0
    public var reuseKVPrefix: Bool = true

    public init() {}
}

/// The state a running stream shares with the C chunk callback.
private final class StreamBox: @unchecked Sendable {
    let continuation: AsyncThrowingStream<ChatCompletionStreamResponse, Error>.Continuation
    private let lock = NSLock()
    private var cancelledFlag = false
    var decodeError: Error?

    init(_ c: AsyncThrowingStream<ChatCompletionStreamResponse, Error>.Continuation) { continuation = c }

    var cancelled: Bool {
        get { lock.lock(); defer { lock.unlock() }; return cancelledFlag }
        set { lock.lock(); cancelledFlag = newValue; lock.unlock() }
    }
}

/// aae_chunk_callback: called on the engine's queue with each chunk's JSON.
private func aaeChunkCallback(_ json: UnsafePointer<CChar>?, _ len: Int, _ user: UnsafeMutableRawPointer?) -> Int32 {
    guard let json = json, let user = user else { return 1 }
    let box = Unmanaged<StreamBox>.fromOpaque(user).takeUnretainedValue()
    if box.cancelled { return 1 }
    let data = Data(bytes: json, count: len)
    do {
        box.continuation.yield(try JSONDecoder().decode(ChatCompletionStreamResponse.self, from: data))
    } catch {
        box.decodeError = error
        return 1
    }
    return 0
}

private let logLock = NSLock()
private var logHandler: ((Int, String) -> Void)?

/// aae_log_callback: any thread.
private func aaeLogCallback(_ level: aae_log_level, _ message: UnsafePointer<CChar>?, _ user: UnsafeMutableRawPointer?) {
    guard let message = message else { return }
    logLock.lock()
    let h = logHandler
    logLock.unlock()
    h?(Int(level.rawValue), String(cString: message))
}

public final class AAEEngine: @unchecked Sendable {
    private let handle: OpaquePointer
    private let queue = DispatchQueue(label: "ai.sphere_aae.engine", qos: .userInitiated)

    /// engine.chat.completions.create(...), as in MLC-LLM.
    public var chat: Chat { Chat(completions: Completions(engine: self)) }

    public init(params: EngineParams = EngineParams()) throws {
        var p = aae_engine_params()
        aae_engine_default_params(&p)
        p.n_threads = params.threads
        p.context_window_size = params.contextWindowSize
        p.prefill_chunk_size = params.prefillChunkSize
        p.reuse_kv_prefix = params.reuseKVPrefix ? 1 : 0
        var e: OpaquePointer?
        let st = aae_engine_create(&p, &e)
        guard st == AAE_OK, let engine = e else {
            throw AAEError(status: st.rawValue, message: String(cString: aae_strerror(st)))
        }
        handle = engine
    }

    deinit {
        aae_engine_destroy(handle)
    }

    /// The runtime's version, e.g. "0.1.0".
    public static var version: String { String(cString: aae_version()) }

    /// Receives the runtime's log lines (level 0 debug ... 3 error); nil drops them.
    public static func setLogHandler(_ handler: ((Int, String) -> Void)?) {
        logLock.lock()
        logHandler = handler
        logLock.unlock()
        if handler != nil {
            aae_set_log_callback(aaeLogCallback, nil)
        } else {
            aae_set_log_callback(nil, nil)
        }
    }

    /// Loads the converted model in modelPath (a folder inside the app's bundle);
    /// modelLib is the app config's model_lib (linked from libmodel_iphone.a), or nil
    /// for the runtime's generic model code.
    public func reload(modelPath: String, modelLib: String?) async throws {
        try await run { (h: OpaquePointer) in
            let st: aae_status
            if let lib = modelLib {
                st = aae_engine_reload(h, modelPath, lib)
            } else {
                st = aae_engine_reload(h, modelPath, nil)
            }
            if st != AAE_OK { throw AAEEngine.error(h, st) }
        }
    }

    /// Releases the loaded model.
    public func unload() async {
        try? await run { (h: OpaquePointer) in aae_engine_unload(h) }
    }

    /// Forgets the conversation kept in the KV cache.
    public func resetChat() async {
        try? await run { (h: OpaquePointer) in aae_engine_reset_chat(h) }
    }

    /// Stops the running completion at the next token; any thread, never waits.
    public func abort() {
        aae_engine_abort(handle)
    }

    public struct Chat {
        public let completions: Completions
    }

    public struct Completions {
        let engine: AAEEngine

        /// Streams the completion's chunks; cancel the iterating task (or call
        /// engine.abort()) to stop it: the stream then ends with finish_reason "abort".
        public func create(messages: [ChatCompletionMessage], temperature: Double? = nil, topP: Double? = nil,
                           maxTokens: Int? = nil, seed: Int? = nil, stop: [String]? = nil,
                           frequencyPenalty: Double? = nil, presencePenalty: Double? = nil)
            -> AsyncThrowingStream<ChatCompletionStreamResponse, Error> {
            var r = ChatCompletionRequest(messages: messages)
            r.temperature = temperature
            r.topP = topP
            r.maxTokens = maxTokens
            r.seed = seed
            r.stop = stop
            r.frequencyPenalty = frequencyPenalty
            r.presencePenalty = presencePenalty
            return create(request: r)
        }

        public func create(request: ChatCompletionRequest) -> AsyncThrowingStream<ChatCompletionStreamResponse, Error> {
            engine.stream(request)
        }
    }

    // MARK: - inside

    private static func error(_ h: OpaquePointer, _ st: aae_status) -> AAEError {
        var m = String(cString: aae_engine_errmsg(h))
        if m.isEmpty { m = String(cString: aae_strerror(st)) }
        return AAEError(status: st.rawValue, message: m)
    }

    private func run<T>(_ body: @escaping (OpaquePointer) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, Error>) in
            queue.async {
                do { c.resume(returning: try body(self.handle)) } catch { c.resume(throwing: error) }
            }
        }
    }

    fileprivate func stream(_ request: ChatCompletionRequest) -> AsyncThrowingStream<ChatCompletionStreamResponse, Error> {
        var req = request
        req.stream = true
        return AsyncThrowingStream { continuation in
            let box = StreamBox(continuation)
            let json: String
            do {
                json = String(decoding: try JSONEncoder().encode(req), as: UTF8.self)
            } catch {
                continuation.finish(throwing: error)
                return
            }
            continuation.onTermination = { [weak self] termination in
                if case .cancelled = termination {
                    box.cancelled = true
                    self?.abort()
                }
            }
            queue.async {
                let user = Unmanaged.passRetained(box).toOpaque()
                let st = json.withCString { aae_engine_chat_completion(self.handle, $0, aaeChunkCallback, user) }
                Unmanaged<StreamBox>.fromOpaque(user).release()
                if let e = box.decodeError {
                    continuation.finish(throwing: e)
                } else if st == AAE_OK || st == AAE_ERR_ABORTED {
                    continuation.finish()
                } else {
                    continuation.finish(throwing: AAEEngine.error(self.handle, st))
                }
            }
        }
    }
}
