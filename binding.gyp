{
  # Every native/*.cc is one concern of the addon; the list is read from the
  # folder so that adding a concern never means editing this file.
  "targets": [
    {
      "target_name": "forkful",
      "sources": [
        "<!@(node -p \"require('fs').readdirSync('native').filter(f => f.endsWith('.cc')).sort().map(f => 'native/' + f).join(' ')\")"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=9", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++20", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-cast-function-type"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++20",
        "MACOSX_DEPLOYMENT_TARGET": "11.0"
      },
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1 } },
      # forkful.abi beside the binary: the Node ABI it is built for, so that
      # lib/core/native.ts never dlopens a local build made for another Node
      # (its static initialisers would run in the wrong Node). Rewritten
      # whenever configure targets another Node (config.gypi changes).
      "actions": [
        {
          "action_name": "record_abi",
          "inputs": ["<(module_root_dir)/build/config.gypi"],
          "outputs": ["<(PRODUCT_DIR)/forkful.abi"],
          "action": [
            "node", "-e", "require('fs').writeFileSync(process.argv[1], process.argv[2])",
            "<(PRODUCT_DIR)/forkful.abi", "<(node_module_version)"
          ]
        }
      ],
      "conditions": [
        # Stay loaded for the process's life (dlclose does not unmap it):
        # Node unloads an addon when the last environment that loaded it
        # ends, but code of ours outlives that environment (the arena's
        # SharedArrayBuffer deleter, run when V8 tears the Worker's isolate
        # down; lock waits on detached threads).
        ["OS=='linux'", { "ldflags": ["-Wl,-z,nodelete"] }]
      ]
    }
  ]
}
