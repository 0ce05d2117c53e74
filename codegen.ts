// npm run codegen: typed documents for tests and clients, from the committed schema.graphql (no server,
// no network) and the example operations in docs/examples/. Output goes to tests/generated/ (gitignored),
// the manifest of trusted documents too (tests/generated/graphql/persisted-documents.json).
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['docs/examples/**/*.graphql'],
  // An example that does not parse fails the run instead of being skipped (validation errors always fail).
  noSilentErrors: true,
  // No progress lines in `npm test`. `silent` also hides the failure itself (cli 6.3 prints errors
  // only through the progress renderer, and `errorsOnly` is a no-op there), so print it here.
  silent: true,
  hooks: {
    onError: (message: string) => {
      console.error(message);
    },
  },
  generates: {
    'tests/generated/graphql/': {
      preset: 'client',
      presetConfig: {
        // Operations only, no named fragments yet: masking would just add unwrapping to every test.
        fragmentMasking: false,
        // Trusted documents (docs/operations.md): each generated document gets its id, `__meta__.hash`
        // (the sha256 of its normalized text), and persisted-documents.json beside it is the
        // manifest of them all (id -> text) that the server loads with TRUSTED_DOCUMENTS. The
        // documents keep their text (mode `embedHashInDocument`, the default), so clients and tests
        // may send either.
        persistedDocuments: { hashAlgorithm: 'sha256' },
      },
      config: {
        // TypedDocumentString: the document text itself (`String(doc)`), typed with its result and
        // variables, so it goes straight into a JSON body without `graphql`'s print().
        documentMode: 'string',
        // The repo is ESM with NodeNext resolution and verbatimModuleSyntax: `.js` specifiers, type imports.
        importExtension: '.js',
        useTypeImports: true,
        // String unions rather than TS enums: nothing to import to compare `role === 'ADMIN'`.
        enumsAsTypes: true,
        // Any scalar added to the schema without a mapping here fails codegen instead of becoming `any`.
        strictScalars: true,
        scalars: {
          DateTime: 'string',
          JSON: 'unknown',
          UUID: 'string',
        },
      },
    },
  },
};

export default config;
