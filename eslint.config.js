// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.stack/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node modules, no zod.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'os', 'child_process', 'net', 'http', 'https', 'crypto'],
              message: 'No I/O in workflows.',
            },
            {
              group: ['zod', 'dockerode', '@temporalio/activity', '@temporalio/worker', '@temporalio/client'],
              message: 'Not allowed in workflow code.',
            },
            {
              group: ['../activities/*', '../common/template.js', '../common/convert.js'],
              allowTypeImports: true,
              message: 'Workflows may import only types from here.',
            },
          ],
        },
      ],
    },
  },
);
