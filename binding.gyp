{
  # Guard for plain `node-gyp rebuild` / `npm rebuild`: all build flags live in
  # CMakeLists.txt. This target runs scripts/install.mjs, which does nothing when a
  # matching prebuilt binary loads and otherwise builds through cmake-js.
  "targets": [
    {
      "target_name": "rxscale_cmake_guard",
      "type": "none",
      "actions": [
        {
          "action_name": "rxscale_install",
          "inputs": [],
          "outputs": ["<(INTERMEDIATE_DIR)/rxscale_install.stamp"],
          "action": ["node", "<(module_root_dir)/scripts/install.mjs"]
        }
      ]
    }
  ]
}
