import { beforeAll } from "vitest";
import { ready } from "../src/core/backend";

beforeAll(async () => {
  await ready();
});
