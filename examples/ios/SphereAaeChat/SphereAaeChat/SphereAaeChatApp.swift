// SphereAaeChatApp.swift - a minimal SwiftUI chat over the SphereAAE package that
// `sphere_aae package` writes to dist/lib/SphereAAE (docs/deploy_ios.md).
import SwiftUI

@main
struct SphereAaeChatApp: App {
    @StateObject private var chat = ChatState()

    var body: some Scene {
        WindowGroup {
            ContentView().environmentObject(chat)
        }
    }
}
