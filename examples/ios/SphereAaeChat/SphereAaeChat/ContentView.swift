// ContentView.swift - the transcript, a text field, Send and Stop.
import SwiftUI

struct ContentView: View {
    @EnvironmentObject var chat: ChatState
    @State private var input = ""

    var body: some View {
        VStack(spacing: 8) {
            ScrollViewReader { proxy in
                ScrollView {
                    Text(chat.transcript)
                        .frame(maxWidth: .infinity, alignment: .leading)
                        .padding()
                    Color.clear.frame(height: 1).id("end")
                }
                .onChange(of: chat.transcript) { _ in proxy.scrollTo("end") }
            }
            HStack {
                TextField("Message", text: $input, onCommit: send) // iOS 14: no .onSubmit
                    .textFieldStyle(RoundedBorderTextFieldStyle())
                Button("Send", action: send).disabled(!chat.ready || chat.busy)
                Button("Stop") { chat.stop() }.disabled(!chat.busy)
            }
            .padding(.horizontal)
            .padding(.bottom, 8)
        }
    }

    private func send() {
        let text = input.trimmingCharacters(in: .whitespacesAndNewlines)
        input = ""
        chat.send(text)
    }
}
