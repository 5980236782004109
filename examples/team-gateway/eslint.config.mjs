// ESLint flat config: the "Lint" row of the Team Gateway Checklist (`npm run lint`).
import js from "@eslint/js";
import { defineConfig, globalIgnores } from "eslint/config";
import globals from "globals";
import tseslint from "typescript-eslint";

export default defineConfig(
  // dist/ is compiled output (audited by the witness gate), not source to lint.
  globalIgnores(["dist/", "reports/", "node_modules/"]),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      eqeqeq: "error",
      "no-console": ["error", { allow: ["error"] }],
    },
  },
  {
    // smoke scripts report what they checked on stdout
    files: ["scripts/**"],
    rules: { "no-console": "off" },
  },
);
