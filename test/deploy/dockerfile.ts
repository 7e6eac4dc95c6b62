// The Dockerfile as the structural lint in deployment-files.test.ts reads it, parsed by
// dockerfile-ast (the parser of the Docker language server): its instructions and the build
// stages they form. `args` is what follows the keyword, flags first, continuation lines joined.
import { DockerfileParser, type Flag } from 'dockerfile-ast';

export interface Instruction {
  keyword: string;
  args: string;
  /** 1-based. */
  line: number;
}

export interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

export function parseDockerfile(text: string): Instruction[] {
  return DockerfileParser.parse(text)
    .getInstructions()
    .map((i) => {
      const flags: Flag[] = 'getFlags' in i && typeof i.getFlags === 'function' ? i.getFlags() : [];
      return {
        keyword: i.getKeyword().toUpperCase(),
        args: [...flags.map((f) => f.toString()), i.getArgumentsContent() ?? ''].join(' ').trim(),
        line: i.getRange().start.line + 1,
      };
    });
}

export function stagesOf(instructions: readonly Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const i of instructions) {
    if (i.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(i.args);
      if (!m) throw new Error(`Dockerfile line ${i.line}: cannot read FROM ${i.args}`);
      stages.push({ image: m[1], name: m[2], instructions: [] });
    } else if (stages.length) stages.at(-1)!.instructions.push(i);
  }
  return stages;
}
