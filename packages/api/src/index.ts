/** Package version marker; the real API lands with its issue. */
export const PACKAGE_NAME = "@liftbridge/api";
