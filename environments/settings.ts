/** The environments' settings types and defaults, for environment.ts and project.ts (they live in the model: model/environments.ts). */
export * from '../model/environments.ts';
