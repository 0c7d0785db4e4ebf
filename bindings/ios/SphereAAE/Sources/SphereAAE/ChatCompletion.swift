// ChatCompletion.swift - the OpenAI-shaped request and stream chunk types, as
// MLC-LLM's Swift API names them, encoded to / decoded from the engine's JSON
// (docs/engine.md lists the members).
import Foundation

public struct ChatCompletionMessage: Codable, Sendable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    public static func system(_ text: String) -> ChatCompletionMessage { .init(role: "system", content: text) }
    public static func user(_ text: String) -> ChatCompletionMessage { .init(role: "user", content: text) }
    public static func assistant(_ text: String) -> ChatCompletionMessage { .init(role: "assistant", content: text) }
}

public struct StreamOptions: Codable, Sendable {
    public var includeUsage: Bool

    public init(includeUsage: Bool) { self.includeUsage = includeUsage }

    enum CodingKeys: String, CodingKey {
        case includeUsage = "include_usage"
    }
}

/// A chat-completions request; nil members are left out (the model's chat config decides).
public struct ChatCompletionRequest: Codable, Sendable {
    public var messages: [ChatCompletionMessage]
    public var model: String?
    public var stream: Bool = true
    public var streamOptions: StreamOptions? = StreamOptions(includeUsage: true)
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var maxTokens: Int?
    public var seed: Int?
    public var stop: [String]?
    public var frequencyPenalty: Double?
    public var presencePenalty: Double?
    public var repetitionPenalty: Double?
    public var ignoreEos: Bool?

    public init(messages: [ChatCompletionMessage]) { self.messages = messages }

    enum CodingKeys: String, CodingKey {
        case messages, model, stream, temperature, seed, stop
        case streamOptions = "stream_options"
        case topP = "top_p"
        case topK = "top_k"
        case maxTokens = "max_tokens"
        case frequencyPenalty = "frequency_penalty"
        case presencePenalty = "presence_penalty"
        case repetitionPenalty = "repetition_penalty"
        case ignoreEos = "ignore_eos"
    }
}

public struct ChatCompletionDelta: Codable, Sendable {
    public var role: String?
    public var content: String?
}

public struct ChatCompletionStreamChoice: Codable, Sendable {
    public var index: Int
    public var delta: ChatCompletionDelta
    public var finishReason: String?

    enum CodingKeys: String, CodingKey {
        case index, delta
        case finishReason = "finish_reason"
    }
}

public struct CompletionUsageExtra: Codable, Sendable {
    public var promptTokensReused: Int?
    public var prefillTokens: Int?
    public var prefillTokensPerS: Double?
    public var decodeTokensPerS: Double?
    public var timeToFirstTokenS: Double?
    public var endToEndLatencyS: Double?

    enum CodingKeys: String, CodingKey {
        case promptTokensReused = "prompt_tokens_reused"
        case prefillTokens = "prefill_tokens"
        case prefillTokensPerS = "prefill_tokens_per_s"
        case decodeTokensPerS = "decode_tokens_per_s"
        case timeToFirstTokenS = "time_to_first_token_s"
        case endToEndLatencyS = "end_to_end_latency_s"
    }
}

public struct CompletionUsage: Codable, Sendable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int
    public var extra: CompletionUsageExtra?

    enum CodingKeys: String, CodingKey {
        case extra
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case totalTokens = "total_tokens"
    }
}

/// One "chat.completion.chunk": choices[0].delta.content is the new text; the last
/// chunk has no choices and carries usage.
public struct ChatCompletionStreamResponse: Codable, Sendable {
    public var id: String
    public var object: String
    public var created: Int
    public var model: String?
    public var systemFingerprint: String?
    public var choices: [ChatCompletionStreamChoice]
    public var usage: CompletionUsage?

    enum CodingKeys: String, CodingKey {
        case id, object, created, model, choices, usage
        case systemFingerprint = "system_fingerprint"
    }
}

/// sphere-aae-app-config.json as `sphere_aae package` writes it (dist/bundle/).
public struct AppConfig: Codable, Sendable {
    public struct ModelRecord: Codable, Sendable {
        public var modelId: String
        public var modelLib: String
        public var modelPath: String?
        public var modelUrl: String?
        public var estimatedVramBytes: Int64

        enum CodingKeys: String, CodingKey {
            case modelId = "model_id"
            case modelLib = "model_lib"
            case modelPath = "model_path"
            case modelUrl = "model_url"
            case estimatedVramBytes = "estimated_vram_bytes"
        }
    }

    public var modelList: [ModelRecord]

    enum CodingKeys: String, CodingKey {
        case modelList = "model_list"
    }
}
