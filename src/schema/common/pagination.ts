import { builder } from '../../builder.js';

// Relay connections (PageInfo, edges, cursors) come from the relay plugin; each domain shares one
// `<Type>Connection` wherever that type is listed. This adds `totalCount` to all of them.
builder.globalConnectionField('totalCount', (t) =>
  t.int({
    description: 'Rows matching the filter, ignoring pagination. Counted only when selected.',
    resolve: (connection) => {
      const { totalCount } = connection;
      if (totalCount === undefined) throw new Error('this connection does not provide totalCount');
      return typeof totalCount === 'function' ? totalCount() : totalCount;
    },
  }),
);
