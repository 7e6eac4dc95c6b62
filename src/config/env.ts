// {env.NAME} in any string argument of a directive is replaced when the file loads. An
// unset variable is a load error at its position, never an empty string (README, "Schema files").
import { type DocumentNode, Kind, type StringValueNode, visit } from 'graphql';
import type { ProblemList } from './problems.js';

const ENV_PLACEHOLDER = /\{env\.([A-Za-z_][A-Za-z0-9_]*)\}/g;

export function substituteEnv(
  document: DocumentNode,
  file: string,
  env: NodeJS.ProcessEnv,
  problems: ProblemList,
): DocumentNode {
  let insideDirective = 0;
  return visit(document, {
    Directive: {
      enter() {
        insideDirective++;
      },
      leave() {
        insideDirective--;
      },
    },
    StringValue(node): StringValueNode | undefined {
      if (!insideDirective || !node.value.includes('{env.')) return undefined;
      const value = node.value.replace(ENV_PLACEHOLDER, (text, name: string) => {
        const v = env[name];
        if (v === undefined) {
          problems.at(node, file, `environment variable ${name} is not set (used as ${text})`);
          return '';
        }
        return v;
      });
      return { ...node, kind: Kind.STRING, value };
    },
  });
}
