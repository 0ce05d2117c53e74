import { GraphQLError, NoSchemaIntrospectionCustomRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * With introspection off (GRAPHQL_INTROSPECTION=false, the production default) the schema is not
 * told to clients: introspection queries fail validation, and graphql-js's "Did you mean …?"
 * suggestions, which name fields, arguments and enum values a client did not ask for, are cut
 * from validation errors and from variable coercion errors alike.
 */
export function useSchemaPrivacy(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
      return ({ result, setResult }) => {
        if (result.some(hasSuggestion)) setResult(result.map(withoutSuggestion));
      };
    },
    onExecute() {
      return {
        onExecuteDone({ result, setResult }) {
          if (!('errors' in result) || !result.errors?.some(hasSuggestion)) return;
          setResult({ ...result, errors: result.errors.map(withoutSuggestion) });
        },
      };
    },
  };
}

/** graphql-js's `didYouMean` ends a message with " Did you mean …?". */
const SUGGESTION = / Did you mean [\s\S]*\?$/;

const hasSuggestion = (error: Error) => SUGGESTION.test(error.message);

function withoutSuggestion<E extends Error>(error: E): E | GraphQLError {
  if (!(error instanceof GraphQLError) || !hasSuggestion(error)) return error;
  return new GraphQLError(error.message.replace(SUGGESTION, ''), {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
}
