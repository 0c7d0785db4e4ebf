// ChatState.swift - loads the first bundled model of sphere-aae-app-config.json
// (dist/bundle, copied into the app as the folder reference "bundle") and streams
// answers with engine.chat.completions.create. Stop aborts the running answer.
import Foundation
import SphereAAE

@MainActor
final class ChatState: ObservableObject {
    @Published var transcript = ""
    @Published var ready = false
    @Published var busy = false

    private var engine: AAEEngine?
    private var history: [ChatCompletionMessage] = []
    private var task: Task<Void, Never>?

    init() {
        Task { await load() }
    }

    private func load() async {
        do {
            guard let bundle = Bundle.main.url(forResource: "bundle", withExtension: nil) else {
                transcript = "The app has no \"bundle\" folder: add dist/bundle to the target (docs/deploy_ios.md).\n"
                return
            }
            let data = try Data(contentsOf: bundle.appendingPathComponent("sphere-aae-app-config.json"))
            let config = try JSONDecoder().decode(AppConfig.self, from: data)
            guard let model = config.modelList.first(where: { $0.modelPath != nil }) else {
                transcript = "No model with bundled weights in sphere-aae-app-config.json.\n"
                return
            }
            transcript = "Loading \(model.modelId) ...\n"
            let e = try AAEEngine()
            try await e.reload(modelPath: bundle.appendingPathComponent(model.modelPath!).path,
                               modelLib: model.modelLib)
            engine = e
            ready = true
            transcript += "Ready.\n\n"
        } catch {
            transcript += "Cannot load the model: \(error)\n"
        }
    }

    func send(_ text: String) {
        guard let engine = engine, !busy, !text.isEmpty else { return }
        busy = true
        history.append(.user(text))
        transcript += "You: \(text)\nModel: "
        let messages = history
        task = Task {
            var answer = ""
            do {
                for try await chunk in engine.chat.completions.create(messages: messages, maxTokens: 512) {
                    if let piece = chunk.choices.first?.delta.content, !piece.isEmpty {
                        answer += piece
                        transcript += piece
                    }
                    if let finish = chunk.choices.first?.finishReason {
                        transcript += "\n[\(finish)"
                    }
                    if let usage = chunk.usage {
                        let tps = usage.extra?.decodeTokensPerS ?? 0
                        transcript += String(format: ", %d tokens, %.1f tok/s]\n\n", usage.completionTokens, tps)
                    }
                }
            } catch {
                transcript += "\n[error: \(error)]\n\n"
            }
            history.append(.assistant(answer))
            busy = false
        }
    }

    func stop() {
        engine?.abort()
    }
}
