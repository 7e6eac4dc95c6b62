// One command-line flag as the tables of options.ts and security-flags.ts describe it.
export interface FlagSpec {
  name: string;
  type: 'string' | 'number' | 'boolean' | 'list';
  default?: string | number | boolean;
  description: string;
  /** Heading in --help. */
  group?: string;
  /** The only values a string flag takes. */
  choices?: readonly string[];
  /** A number flag that takes fractions (a rate); others take whole numbers. */
  fractional?: boolean;
  /** The value's name in --help ("FILE", "CIDR,..."). */
  arg?: string;
}
