// swift-tools-version:5.7
// SphereAAE: the Astro Agent Edge runtime as a Swift package for iOS apps.
// CSphereAAE is the runtime's C sources (copied into Sources/CSphereAAE/runtime by
// `sphere_aae package`) with sphere_aae.h and its module map; SphereAAE is the Swift
// API (AAEEngine, engine.chat.completions.create -> AsyncThrowingStream).
// The packaged model libraries are linked by the app target, not here:
// libmodel_iphone.a for devices and, with "ios_simulator": true in the package config,
// libmodel_iphone-simulator.a for the Simulator (Other Linker Flags per SDK:
// see docs/deploy_ios.md).
import PackageDescription

let aaeVersion = "@AAE_VERSION@" // written by sphere_aae package

let package = Package(
    name: "SphereAAE",
    platforms: [.iOS(.v14), .macOS(.v11)],
    products: [
        .library(name: "SphereAAE", targets: ["SphereAAE"]),
    ],
    targets: [
        .target(
            name: "CSphereAAE",
            path: "Sources/CSphereAAE",
            sources: ["runtime"],
            publicHeadersPath: "include",
            cSettings: [
                .headerSearchPath("runtime"),
                .define("_POSIX_C_SOURCE", to: "200809L"),
                // Darwin hides sysconf(_SC_NPROCESSORS_ONLN) under plain POSIX.
                .define("_DARWIN_C_SOURCE"),
                .define("AAE_VERSION_STRING", to: "\"\(aaeVersion)\""),
            ],
            linkerSettings: [
                .linkedLibrary("m"),
            ]
        ),
        .target(
            name: "SphereAAE",
            dependencies: ["CSphereAAE"],
            path: "Sources/SphereAAE"
        ),
    ],
    cLanguageStandard: .c11
)
