/** What `mmcheck list` can list (here on its own: the command's help names them without loading the model). */
export const LISTS = ['invariants', 'kernels', 'scenarios', 'mutants', 'switches'] as const;
