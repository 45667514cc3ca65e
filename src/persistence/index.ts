export {
  createActivityTracker,
  type ActivityPrismaClient,
  type ActivityTracker,
  type ActivityTrackerOptions,
} from "./activity.js";
export { checkPersistenceSetup, type PersistenceSetupOptions } from "./setup-check.js";
export {
  createUserMapper,
  userMappingSchema,
  type UserMapper,
  type UserMappingContext,
  type UserMappingFunction,
  type UserMappingOptions,
} from "./user-mapping.js";
